//! Django's username rules: `UnicodeUsernameValidator` and `normalize_username`.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// Django's `UnicodeUsernameValidator` (`^[\w.@+-]+\Z`): one or more letters or numbers of
/// any script (Python's `\w`: general categories L and N, not combining marks) or `_ . @ + -`.
pub fn is_valid_username(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| {
            matches!(c, '_' | '.' | '@' | '+' | '-')
                || matches!(
                    c.general_category_group(),
                    GeneralCategoryGroup::Letter | GeneralCategoryGroup::Number
                )
        })
}

/// Django's `AbstractBaseUser.normalize_username`: NFKC, so `ﬁle` and `file`, or full-width
/// `ａｎｎ` and `ann`, are one username.
pub fn normalize_username(name: &str) -> String {
    name.nfkc().collect()
}
