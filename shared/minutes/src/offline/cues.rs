//! The offline engine's cue phrases, English and French: the lists its heuristics match.

/// A decision cue, the words that may follow it before the decision itself, and a prefix for
/// the title when the cue carries the verb ("let's go with X" → "Go with X").
type Cue = (&'static str, &'static [&'static str], &'static str);

const SKIP_EN: &[&str] = &[
    "to",
    "that",
    "on",
    "we will",
    "we'll",
    "we would",
    "we should",
];
const SKIP_FR: &[&str] = &[
    "de",
    "d'",
    "que",
    "qu'",
    "pour",
    "sur",
    "on va",
    "nous allons",
];

pub(super) const DECISION_CUES: &[Cue] = &[
    ("we have decided", SKIP_EN, ""),
    ("we've decided", SKIP_EN, ""),
    ("we decided", SKIP_EN, ""),
    ("we have agreed", SKIP_EN, ""),
    ("we've agreed", SKIP_EN, ""),
    ("we all agreed", SKIP_EN, ""),
    ("we agreed", SKIP_EN, ""),
    ("decision:", SKIP_EN, ""),
    ("decision :", SKIP_EN, ""),
    ("let's go with", &[], "Go with "),
    ("lets go with", &[], "Go with "),
    ("we will go with", &[], "Go with "),
    ("we'll go with", &[], "Go with "),
    ("we're going with", &[], "Go with "),
    ("nous avons décidé", SKIP_FR, ""),
    ("on a décidé", SKIP_FR, ""),
    ("on s'est mis d'accord", SKIP_FR, ""),
    ("nous sommes d'accord", SKIP_FR, ""),
    ("on est d'accord", SKIP_FR, ""),
    ("décision :", SKIP_FR, ""),
    ("décision:", SKIP_FR, ""),
    ("on va partir sur", &[], "Partir sur "),
    ("on part sur", &[], "Partir sur "),
];

/// Explicit action markers; a name right after one ("David to …") is the owner.
pub(super) const MARKER_CUES: &[&str] = &[
    "action item:",
    "action item :",
    "action:",
    "todo:",
    "to do:",
    "todo",
    "à faire :",
    "à faire:",
];

/// First-person commitments: the speaker owns them. (cue, title prefix)
pub(super) const FIRST_PERSON_CUES: &[(&str, &str)] = &[
    ("i will", ""),
    ("i'll", ""),
    ("i'm going to", ""),
    ("i am going to", ""),
    ("je vais", ""),
    ("je m'occupe", "S'occuper "),
    ("je dois", ""),
];

/// "X will …": the word(s) before the cue name the owner.
pub(super) const NAMED_CUES: &[&str] = &["will", "is going to", "va", "doit", "devra"];

/// Requests: the owner is whoever is addressed by name, if anyone.
pub(super) const REQUEST_CUES: &[&str] = &[
    "can you",
    "could you",
    "please",
    "tu peux",
    "peux-tu",
    "pouvez-vous",
    "vous pouvez",
    "tu pourrais",
    "merci de",
];

/// Remainders that are talk, not tasks ("I'll be honest", "can you hear me").
pub(super) const NOT_TASKS: &[&str] = &[
    "be",
    "not",
    "say",
    "admit",
    "hear",
    "see",
    "repeat",
    "note",
    "show you",
    "share my screen",
    "walk you through",
    "pas",
    "être",
    "dire",
    "m'entendre",
    "répéter",
    "me voir",
    "vous montrer",
    "te montrer",
    "partager mon écran",
];

pub(super) const HIGH_CUES: &[&str] = &[
    "urgent",
    "urgently",
    "asap",
    "as soon as possible",
    "au plus vite",
    "dès que possible",
    "prioritaire",
    "en priorité",
    "top priority",
    "critical",
];
pub(super) const LOW_CUES: &[&str] = &[
    "when you can",
    "whenever you can",
    "no rush",
    "not urgent",
    "low priority",
    "quand tu peux",
    "quand vous pouvez",
    "pas urgent",
    "pas pressé",
    "rien ne presse",
];

pub(super) const KEY_POINT_CUES: &[&str] = &[
    "important",
    "key",
    "note that",
    "keep in mind",
    "crucial",
    "le point clé",
    "point clé",
    "essentiel",
    "à retenir",
    "à noter",
];
pub(super) const NEXT_STEP_CUES: &[&str] = &[
    "next step",
    "next steps",
    "next time",
    "prochaine étape",
    "prochaines étapes",
    "la prochaine fois",
];

/// Words that precede "will"/"va" without naming a person (compared folded).
pub(super) const NOT_NAMES: &[&str] = &[
    "i",
    "it",
    "this",
    "that",
    "we",
    "they",
    "he",
    "she",
    "you",
    "there",
    "who",
    "what",
    "which",
    "everyone",
    "everybody",
    "someone",
    "somebody",
    "nobody",
    "anyone",
    "one",
    "so",
    "then",
    "and",
    "but",
    "also",
    "if",
    "when",
    "ok",
    "okay",
    "yes",
    "no",
    "well",
    "il",
    "elle",
    "on",
    "ça",
    "ca",
    "cela",
    "ce",
    "qui",
    "nous",
    "vous",
    "ils",
    "elles",
    "tout",
    "personne",
    "quelqu'un",
    "chacun",
    "je",
    "tu",
    "ne",
    "et",
    "mais",
    "alors",
    "donc",
    "puis",
    "oui",
    "non",
    "bon",
    "bref",
    "si",
    "quand",
    "the",
    "le",
    "la",
    "les",
];

/// Trailing phrases cut from titles: they set the priority, they are not the task.
pub(super) const TITLE_TAILS: &[&str] = &[
    "it is urgent",
    "it's urgent",
    "this is urgent",
    "that's urgent",
    "c'est urgent",
    "urgently",
    "asap",
    "as soon as possible",
    "au plus vite",
    "dès que possible",
    "when you can",
    "whenever you can",
    "quand tu peux",
    "quand vous pouvez",
    "please",
    "s'il te plaît",
    "s'il vous plaît",
    "stp",
    "svp",
];
