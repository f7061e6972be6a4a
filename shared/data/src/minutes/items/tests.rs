use super::*;

fn member(n: u128, email: &str, username: &str, first: &str, last: &str) -> Member {
    Member {
        id: Uuid::from_u128(n),
        email: email.into(),
        username: username.into(),
        first_name: first.into(),
        last_name: last.into(),
    }
}

#[test]
fn owners_match_one_member_or_nobody() {
    let members = [
        member(1, "alice.martin@example.com", "alice", "Alice", "Martin"),
        member(2, "bob@example.com", "bobby", "Bob", "Stone"),
        member(3, "bob.k@example.com", "bk", "Bob", "King"),
    ];
    let speakers = [("Speaker 2".to_owned(), Uuid::from_u128(3))];
    assert_eq!(
        assignee("alice", &members, &speakers),
        Some(Uuid::from_u128(1))
    );
    assert_eq!(
        assignee(" Alice Martin ", &members, &speakers),
        Some(Uuid::from_u128(1))
    );
    assert_eq!(
        assignee("alice.martin", &members, &speakers),
        Some(Uuid::from_u128(1))
    );
    assert_eq!(
        assignee("Bob Stone", &members, &speakers),
        Some(Uuid::from_u128(2))
    );
    assert_eq!(assignee("Bob", &members, &speakers), None, "two Bobs");
    assert_eq!(
        assignee("speaker 2", &members, &speakers),
        Some(Uuid::from_u128(3))
    );
    assert_eq!(assignee("Carol", &members, &speakers), None);
    assert_eq!(assignee("", &members, &speakers), None);
}

fn existing(n: u128, key: Option<&str>, title: &str, user_edited: bool) -> ExistingItem {
    ExistingItem {
        id: Uuid::from_u128(n),
        generated_key: key.map(str::to_owned),
        title: title.into(),
        user_edited,
    }
}

fn generated(key: &str, owner: Option<&str>) -> GeneratedItem {
    GeneratedItem {
        key: key.into(),
        title: key.to_uppercase(),
        description: "d".into(),
        owner: owner.map(str::to_owned),
        due_date: None,
        priority: Priority::High,
        source_segment_ids: vec![Uuid::from_u128(9)],
    }
}

#[test]
fn plan_refreshes_untouched_generated_items_and_leaves_users_items_alone() {
    let items = [
        existing(1, Some("send plan"), "Send plan", false),
        existing(2, Some("book room"), "Book room", true),
        existing(3, None, "Call Bob", false),
        existing(4, Some("dropped"), "Dropped", false),
    ];
    let members = [member(7, "alice@example.com", "alice", "Alice", "Martin")];
    let plan = plan(
        &[
            generated("send plan", Some("Alice")),
            generated("book room", None),
            // Matches item 3 through the key of its title: a user's item, left alone.
            generated("call bob", None),
            generated("deleted before", None),
            generated("new one", None),
        ],
        &items,
        &["deleted before".to_owned()],
        &members,
        &[],
        |title| title.to_lowercase(),
    );
    let write = |key: &str, assignee| ItemWrite {
        title: key.to_uppercase(),
        description: "d".into(),
        assignee,
        due_date: None,
        priority: Priority::High,
        sources: serde_json::json!([Uuid::from_u128(9)]),
    };
    assert_eq!(
        plan,
        Plan {
            updates: vec![(
                Uuid::from_u128(1),
                write("send plan", Some(Uuid::from_u128(7)))
            )],
            inserts: vec![("new one".to_owned(), write("new one", None))],
        }
    );
}

#[test]
fn plan_cuts_keys_and_fields_to_their_caps() {
    let mut item = generated(&"k".repeat(ITEM_KEY_MAX_CHARS + 5), None);
    item.title = "t".repeat(TITLE_MAX_CHARS + 5);
    item.description = "d".repeat(DESCRIPTION_MAX_CHARS + 5);
    item.source_segment_ids = (0..SOURCE_SEGMENTS_MAX as u128 + 5)
        .map(Uuid::from_u128)
        .collect();
    let plan = plan(&[item], &[], &[], &[], &[], str::to_owned);
    let (key, write) = &plan.inserts[0];
    assert_eq!(key.chars().count(), ITEM_KEY_MAX_CHARS);
    assert_eq!(write.title.chars().count(), TITLE_MAX_CHARS);
    assert_eq!(write.description.chars().count(), DESCRIPTION_MAX_CHARS);
    assert_eq!(
        write.sources.as_array().map(Vec::len),
        Some(SOURCE_SEGMENTS_MAX)
    );
}
