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
