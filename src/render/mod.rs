//! Renderers: they take a plan (or a report) and a writer, and only display. No decisions are made here.

pub mod json;
pub mod text;
