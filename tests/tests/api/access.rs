//! The tenant-access rule has one definition in core (`meetin_core::Access::allows`) and one
//! SQL form in the data crate (`caller_may!`); they must agree for every role.

use meetin_core::{Access, Role};

use crate::helpers::TestApp;

#[tokio::test]
async fn the_sql_rule_is_the_core_rule_for_every_role() {
    let app = TestApp::spawn().await;
    let admin = app.register().await;
    let outsider = app.register().await;
    let mut members = Vec::new();
    for role in [Role::Member, Role::Viewer] {
        let account = app.register().await;
        app.add_member(&admin, admin.org_id, &account, role.as_str())
            .await;
        members.push((account.id, Some(role)));
    }
    members.push((admin.id, Some(Role::Admin)));
    members.push((outsider.id, None));
    for (user, role) in members {
        for access in [Access::Read, Access::Write, Access::Admin] {
            let sql = meetin_data::access::sql_rule_admits(&app.pool, access, admin.org_id, user)
                .await
                .expect("query");
            let core = meetin_core::access::authorize(role, access).is_ok();
            assert_eq!(sql, core, "{role:?} {access:?}");
            let role_in = meetin_data::access::role_in(&app.pool, admin.org_id, user)
                .await
                .expect("query");
            assert_eq!(role_in, role);
        }
    }
}
