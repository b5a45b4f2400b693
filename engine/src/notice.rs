//! Notices: the NOTICE and WARNING messages PostgreSQL sends beside a statement's result
//! (`DROP TABLE IF EXISTS` of a missing table, `BEGIN` inside a transaction, ...). The engine
//! collects them per session; the front end sends them before the statement's completion and
//! drops the ones below the session's `client_min_messages`.

/// How serious a notice is (PostgreSQL's message levels that reach clients by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NoticeLevel {
    Notice,
    Warning,
}

impl NoticeLevel {
    /// As the protocol's severity field spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notice => "NOTICE",
            Self::Warning => "WARNING",
        }
    }

    /// Whether a session whose `client_min_messages` is `setting` receives this level.
    pub fn reaches(self, setting: &str) -> bool {
        match setting.to_ascii_lowercase().as_str() {
            "error" | "fatal" | "panic" => false,
            "warning" => self >= Self::Warning,
            _ => true,
        }
    }
}

/// One notice, with the SQLSTATE PostgreSQL gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub level: NoticeLevel,
    pub code: &'static str,
    pub message: String,
}

impl Notice {
    /// A NOTICE with code 00000, as PostgreSQL's "..., skipping" messages have.
    pub fn skipping(message: String) -> Self {
        Self { level: NoticeLevel::Notice, code: "00000", message }
    }

    /// A NOTICE with its own code (42622 for an identifier cut to length).
    pub fn note(code: &'static str, message: impl Into<String>) -> Self {
        Self { level: NoticeLevel::Notice, code, message: message.into() }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self { level: NoticeLevel::Warning, code, message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_min_messages_filters_levels() {
        assert!(NoticeLevel::Notice.reaches("notice"));
        assert!(NoticeLevel::Notice.reaches("DEBUG1"));
        assert!(!NoticeLevel::Notice.reaches("warning"));
        assert!(NoticeLevel::Warning.reaches("warning"));
        assert!(!NoticeLevel::Warning.reaches("error"));
    }
}
