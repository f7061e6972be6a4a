//! The `migrate` function: applies `shared/data/migrations` to the database. The deploy
//! pipeline invokes it once after `sam deploy`; functions never migrate on cold start (N
//! functions racing, and slower inits). The SQL lives in `meetin_data::migrations`.

pub use meetin_data::migrations::{MigrationReport, run as migrate};
