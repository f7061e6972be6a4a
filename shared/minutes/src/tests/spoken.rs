//! The offline engine on speech as people say it: cues inside sentences, after connectors and
//! fillers, owners from speakers' display names, claims, and what must not count.

use super::*;

/// (title, owner, due date) of each action item.
fn owned(c: &MinutesContent) -> Vec<(String, Option<String>, Option<NaiveDate>)> {
    c.action_items
        .iter()
        .map(|a| (a.title.clone(), a.assignee.clone(), a.due_date))
        .collect()
}

fn titles(c: &MinutesContent) -> Vec<&str> {
    c.decisions.iter().map(|d| d.title.as_str()).collect()
}

fn item(title: &str, owner: &str, due: NaiveDate) -> (String, Option<String>, Option<NaiveDate>) {
    (title.to_string(), Some(owner.to_string()), Some(due))
}

async fn minutes(language: Language, lines: &[Line]) -> Generated {
    generate(&OfflineEngine::new(), &meeting(language), lines)
        .await
        .expect("the offline engine does not fail")
}

/// Meeting on Wednesday 4 March 2026.
fn english_review() -> Vec<Line> {
    script(&[
        (
            "Sarah Connor",
            "OK, thanks everyone for joining the launch review.",
        ),
        (
            "Tom Baker",
            "So we also decided to move the launch to April.",
        ),
        (
            "Priya Patel",
            "Well, the plan is to freeze the feature list on Friday.",
        ),
        (
            "Sarah Connor",
            "Let's keep the old pricing for existing customers.",
        ),
        (
            "Tom Baker",
            "And Sarah will send the release notes to marketing by Monday.",
        ),
        (
            "Priya Patel",
            "Fine. I'll update the onboarding guide before the 15th.",
        ),
        ("Sarah Connor", "Someone needs to book the demo room."),
        ("Tom Baker", "I'll take care of it tomorrow."),
        (
            "Priya Patel",
            "Then Tom, can you check the contract with legal next week?",
        ),
        (
            "Sarah Connor",
            "So we agreed that the beta stays invite-only.",
        ),
        // Not decisions, not tasks.
        ("Tom Baker", "We haven't decided on the logo yet."),
        (
            "Priya Patel",
            "If we decide to hire a designer, we'll need more budget.",
        ),
        ("Sarah Connor", "Did we agree on the venue?"),
    ])
}

fn french_review() -> Vec<Line> {
    script(&[
        ("Marie Dubois", "Bonjour à tous, on commence."),
        (
            "Julien Moreau",
            "Alors, on a aussi décidé de passer à la facturation mensuelle.",
        ),
        (
            "Claire Fontaine",
            "Donc on part sur l\u{2019}hébergement à Paris.",
        ),
        (
            "Marie Dubois",
            "Nous allons garder l'ancienne interface jusqu'en juin.",
        ),
        (
            "Julien Moreau",
            "Et Marie va envoyer le compte rendu d'ici lundi.",
        ),
        (
            "Claire Fontaine",
            "Il faut que Julien prépare le budget avant le 20.",
        ),
        ("Marie Dubois", "Il faut relancer le fournisseur."),
        ("Claire Fontaine", "Je m\u{2019}en occupe d'ici vendredi."),
        (
            "Julien Moreau",
            "Bon, je vais mettre à jour la feuille de route la semaine prochaine.",
        ),
        // Not decisions, not tasks.
        ("Claire Fontaine", "On n'a pas encore décidé pour le logo."),
        (
            "Marie Dubois",
            "Si on décide de recruter, il faudra un budget.",
        ),
        ("Julien Moreau", "Est-ce qu'on a validé la date ?"),
    ])
}

#[tokio::test]
async fn english_meeting_spoken_every_way_keeps_every_item() {
    let g = minutes(Language::En, &english_review()).await;
    let c = &g.content;
    assert_eq!(
        titles(c),
        vec![
            "Move the launch to April",
            "Freeze the feature list on Friday",
            "Keep the old pricing for existing customers",
            "The beta stays invite-only",
        ]
    );
    assert_eq!(
        owned(c),
        vec![
            item(
                "Send the release notes to marketing by Monday",
                "Sarah Connor",
                date(2026, 3, 9)
            ),
            item(
                "Update the onboarding guide before the 15th",
                "Priya Patel",
                date(2026, 3, 15)
            ),
            item("Book the demo room", "Tom Baker", date(2026, 3, 5)),
            item(
                "Check the contract with legal next week",
                "Tom Baker",
                date(2026, 3, 9)
            ),
        ]
    );
    // The claimed task cites both the request and the claim.
    assert_eq!(c.action_items[2].source_segment_ids, vec![seg(6), seg(7)]);
    for expected in [
        "### Move the launch to April\n",
        "**Made by:** Tom Baker",
        "### 🟡 Send the release notes to marketing by Monday\n",
        "**Assignee:** Sarah Connor\n\n**Due:** 2026-03-09\n",
        "**Assignee:** Priya Patel\n\n**Due:** 2026-03-15\n",
        "### 🟡 Book the demo room\n",
        "**Assignee:** Tom Baker\n\n**Due:** 2026-03-05\n",
    ] {
        assert!(
            g.markdown.contains(expected),
            "{expected:?} in\n{}",
            g.markdown
        );
    }
}

#[tokio::test]
async fn french_meeting_spoken_every_way_keeps_every_item() {
    let g = minutes(Language::Fr, &french_review()).await;
    let c = &g.content;
    assert_eq!(
        titles(c),
        vec![
            "Passer à la facturation mensuelle",
            "Partir sur l\u{2019}hébergement à Paris",
            "Garder l'ancienne interface jusqu'en juin",
        ]
    );
    assert_eq!(
        owned(c),
        vec![
            item(
                "Envoyer le compte rendu d'ici lundi",
                "Marie Dubois",
                date(2026, 3, 9)
            ),
            item(
                "Prépare le budget avant le 20",
                "Julien Moreau",
                date(2026, 3, 20)
            ),
            item(
                "Relancer le fournisseur",
                "Claire Fontaine",
                date(2026, 3, 6)
            ),
            item(
                "Mettre à jour la feuille de route la semaine prochaine",
                "Julien Moreau",
                date(2026, 3, 9)
            ),
        ]
    );
    for expected in [
        "### Passer à la facturation mensuelle\n",
        "**Prise par:** Julien Moreau",
        "**Responsable:** Marie Dubois\n\n**Échéance:** 2026-03-09\n",
        "**Responsable:** Claire Fontaine\n\n**Échéance:** 2026-03-06\n",
    ] {
        assert!(
            g.markdown.contains(expected),
            "{expected:?} in\n{}",
            g.markdown
        );
    }
}

#[tokio::test]
async fn minutes_with_nothing_decided_or_assigned_say_so() {
    let chat = script(&[
        ("Alice Martin", "Hi all, how was the weekend?"),
        ("Bob Chen", "Great, we went hiking in the Alps."),
    ]);
    let g = minutes(Language::En, &chat).await;
    assert!(g.content.decisions.is_empty() && g.content.action_items.is_empty());
    assert!(
        g.markdown
            .contains("## Decisions\n\nNo decisions were recorded.\n\n## Action Items\n\nNo action items were recorded.\n"),
        "{}",
        g.markdown
    );
    assert!(
        g.markdown
            .contains("## Key Points\n\nNo key points were recorded.\n")
    );
    assert!(
        g.markdown
            .ends_with("## Next Steps\n\nNo next steps were recorded.\n")
    );

    let bavardage = script(&[
        ("Marie Dubois", "Salut, ça va ?"),
        ("Julien Moreau", "Oui, on est allés marcher dans les Alpes."),
    ]);
    let g = minutes(Language::Fr, &bavardage).await;
    assert!(g.content.decisions.is_empty() && g.content.action_items.is_empty());
    assert!(
        g.markdown.contains(
            "## Décisions\n\nAucune décision n'a été relevée.\n\n\
             ## Éléments d'action\n\nAucun élément d'action n'a été relevé.\n"
        ),
        "{}",
        g.markdown
    );
    assert!(g.markdown.contains("Aucun point clé n'a été relevé."));
    assert!(
        g.markdown
            .contains("Aucune prochaine étape n'a été relevée.")
    );
}

#[tokio::test]
async fn questions_negations_and_hypotheticals_are_not_items() {
    let said = [
        "We haven't decided on the logo yet.",
        "We have not agreed on a date.",
        "I don't think we decided anything.",
        "If we decide to hire, Bob will be busy.",
        "If we agree to this, costs go up.",
        "Did we decide to use Postgres?",
        "Have we agreed on the venue?",
        "So we agreed on the venue?",
        "Will Sarah send the report by Friday?",
        "Sarah will send the report by Friday?",
        "Sarah won't send the report by Friday.",
        "I'm not going to send it.",
        "I'll never send it by Friday.",
        "Maybe I'll send it next week.",
        "Should we go with the vendor from Lyon?",
        "Let's see how it goes.",
        "We'll see next week.",
        "Who can send the deck by Friday?",
        "On n'a pas décidé de la date.",
        "Nous n'avons pas encore décidé.",
        "Je ne pense pas qu'on a décidé ça.",
        "Si on décide de recruter, Marie va être débordée.",
        "Si on a décidé de recruter, tant mieux.",
        "Est-ce qu'on a décidé de la date ?",
        "On a décidé ?",
        "Marie va envoyer le devis ?",
        "Je ne vais pas envoyer le devis.",
        "Je vais pas envoyer le devis.",
        "Peut-être que je vais appeler le client demain.",
        "On va voir.",
        "Il faut voir.",
    ];
    for text in said {
        let lines = script(&[("Sarah Connor", text), ("Marie Dubois", "D'accord.")]);
        let g = minutes(Language::En, &lines).await;
        assert!(
            g.content.decisions.is_empty() && g.content.action_items.is_empty(),
            "{text:?} gave {:?} {:?}",
            g.content.decisions,
            g.content.action_items
        );
    }
}

#[tokio::test]
async fn owners_are_speakers_by_first_name_or_as_said() {
    let lines = script(&[
        ("Speaker 1", "I'll draft the press release by Friday."),
        ("Sarah Connor", "Sarah will check the numbers tomorrow."),
        ("Sarah Lee", "Tom will call the bank next week."),
        ("Unknown", "I'll send the invoice tomorrow."),
        (
            "Sarah Connor",
            "I'll write the FAQ and Tom will review it by Friday.",
        ),
    ]);
    let g = minutes(Language::En, &lines).await;
    assert_eq!(
        owned(&g.content),
        vec![
            // An unnamed speaker owns by its label: the one the transcript shows, and the one
            // a speaker mapping turns into a user.
            item(
                "Draft the press release by Friday",
                "Speaker 1",
                date(2026, 3, 6)
            ),
            // Two speakers are called Sarah: the name stays as said.
            item("Check the numbers tomorrow", "Sarah", date(2026, 3, 5)),
            item("Call the bank next week", "Tom", date(2026, 3, 9)),
            (
                "Send the invoice tomorrow".to_string(),
                None,
                Some(date(2026, 3, 5))
            ),
            (
                "Write the FAQ".to_string(),
                Some("Sarah Connor".to_string()),
                None
            ),
            item("Review it by Friday", "Tom", date(2026, 3, 6)),
        ]
    );
}

#[tokio::test]
async fn meeting_talk_is_neither_a_decision_nor_a_task() {
    let said = [
        "I'll stop sharing now.",
        "OK, I'll just say one thing.",
        "Let's take five minutes.",
        "Let's go through the agenda.",
        "Welcome everyone, let's review the launch plan.",
        "We'll get there.",
        "We'll figure it out.",
        "Everything will be fine.",
        "Nothing will change.",
        "I'll start.",
        "Marketing will love it.",
        "Alors je vais commencer par le budget.",
        "Je vais vous dire une chose.",
        "Nous allons faire un tour de table.",
        "On va y arriver.",
        "Je vais vous présenter les chiffres.",
    ];
    for text in said {
        let lines = script(&[("Sarah Connor", text), ("Marie Dubois", "D'accord.")]);
        let g = minutes(Language::En, &lines).await;
        assert!(
            g.content.decisions.is_empty() && g.content.action_items.is_empty(),
            "{text:?} gave {:?} {:?}",
            g.content.decisions,
            g.content.action_items
        );
    }
}
