//! The one place engine errors become wire errors. The engine already chose each SQLSTATE; this
//! only copies the code and the structured fields into pgwire's `ErrorInfo`.

use pgwire::error::{ErrorInfo, PgWireError};
use rhei_engine::EngineError;

/// An engine error as the ErrorResponse fields PostgreSQL would send.
pub fn error_info(err: &EngineError) -> ErrorInfo {
    let mut info = ErrorInfo::new("ERROR".to_owned(), err.sqlstate().to_owned(), err.to_string());
    info.detail = err.detail().map(str::to_owned);
    info.hint = err.hint().map(str::to_owned);
    if let Some((table, constraint)) = err.constraint() {
        info.schema = Some("public".to_owned());
        info.table = Some(table.to_owned());
        info.constraint = Some(constraint.to_owned());
    }
    info.position = err.position().map(|p| p.to_string());
    info
}

/// An engine error as a pgwire error (the session stays usable).
pub fn to_pgwire(err: &EngineError) -> PgWireError {
    PgWireError::UserError(Box::new(error_info(err)))
}

/// A protocol-level problem of the client's making (08P01), still an ERROR, not FATAL.
pub fn protocol_violation(message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new("ERROR".to_owned(), "08P01".to_owned(), message.into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstate_and_detail_are_carried_over() {
        let info = error_info(&EngineError::UniqueViolation {
            table: "t".into(),
            constraint: "t_pkey".into(),
            columns: vec!["id".into()],
            detail: Some("Key (id)=(1) already exists.".into()),
        });
        assert_eq!(info.code, "23505");
        assert_eq!(info.severity, "ERROR");
        assert_eq!(info.detail.as_deref(), Some("Key (id)=(1) already exists."));
    }
}
