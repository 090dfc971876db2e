//! Renderers: they take a plan (or a report) and a writer, and only display. No decisions are made here.

pub mod ci;
pub mod json;
pub mod markdown;
pub mod text;
