//! Errors of the document renderers.

/// Why a document could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// The input cannot be printed as given (e.g. a character the bundled font has no glyph for,
    /// or an empty list where the document needs at least one entry).
    #[error("ungültige Eingabe: {0}")]
    InvalidInput(String),
    /// Building or writing the PDF structure failed.
    #[error("PDF konnte nicht erzeugt werden: {0}")]
    Pdf(String),
}

impl From<lopdf::Error> for DocError {
    fn from(e: lopdf::Error) -> Self {
        DocError::Pdf(e.to_string())
    }
}

impl From<std::io::Error> for DocError {
    fn from(e: std::io::Error) -> Self {
        DocError::Pdf(e.to_string())
    }
}
