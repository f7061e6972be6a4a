//! Django's `EmailValidator` and `normalize_email`.

/// Django's `EmailValidator`: a dot-atom or quoted local part; a domain of dotted labels
/// (letters, digits, hyphens; a last label of 2–63), or `localhost`, or an `[IP literal]`,
/// or an internationalized domain whose punycode form is such a domain. Then
/// `normalize_email`: the domain part lowercased. At most 254 characters is the field's
/// own rule (checked before).
pub fn normalize_email(input: &str) -> Option<String> {
    if input.is_empty() || input.chars().count() > 320 {
        return None;
    }
    let (local, domain) = input.rsplit_once('@')?;
    if !(is_dot_atom(local) || is_quoted_local(local)) {
        return None;
    }
    let domain_ok = domain == "localhost"
        || is_domain(domain)
        || is_ip_literal(domain)
        || (!domain.is_ascii()
            && matches!(url::Host::parse(domain), Ok(url::Host::Domain(ascii)) if is_domain(&ascii)));
    domain_ok.then(|| format!("{local}@{}", domain.to_lowercase()))
}

fn is_atom_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-!#$%&'*+/=?^_`{}|~".contains(c)
}

fn is_dot_atom(local: &str) -> bool {
    local
        .split('.')
        .all(|atom| !atom.is_empty() && atom.chars().all(is_atom_char))
}

/// `"([\001-\010\013\014\016-\037!#-\[\]-\177]|\\[\001-\011\013\014\016-\177])*"`
fn is_quoted_local(local: &str) -> bool {
    let Some(inner) = local
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    else {
        return false;
    };
    let plain = |c: char| matches!(u32::from(c), 0x01..=0x08 | 0x0b | 0x0c | 0x0e..=0x1f | 0x21 | 0x23..=0x5b | 0x5d..=0x7f);
    let escaped = |c: char| matches!(u32::from(c), 0x01..=0x09 | 0x0b | 0x0c | 0x0e..=0x7f);
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        let ok = if c == '\\' {
            chars.next().is_some_and(escaped)
        } else {
            plain(c)
        };
        if !ok {
            return false;
        }
    }
    true
}

/// `((?:[A-Z0-9](?:[A-Z0-9-]{0,61}[A-Z0-9])?\.)+)(?:[A-Z0-9-]{2,63}(?<!-))\Z`, any case.
fn is_domain(domain: &str) -> bool {
    let Some((labels, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    let label_char = |c: char| c.is_ascii_alphanumeric() || c == '-';
    let labels_ok = labels.split('.').all(|l| {
        (1..=63).contains(&l.len())
            && l.chars().all(label_char)
            && !l.starts_with('-')
            && !l.ends_with('-')
    });
    labels_ok && (2..=63).contains(&tld.len()) && tld.chars().all(label_char) && !tld.ends_with('-')
}

/// `\[([A-F0-9:.]+)\]\Z` holding an IPv4 or IPv6 address.
fn is_ip_literal(domain: &str) -> bool {
    domain
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .is_some_and(|ip| {
            ip.chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
                && ip.parse::<std::net::IpAddr>().is_ok()
        })
}
