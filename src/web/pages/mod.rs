//! The dashboard's pages, one module per section. Each module says which routes it serves.

pub mod access;
pub mod appeals;
pub mod audit;
pub mod cases;
pub mod home;
pub mod incidents;
pub mod members;
pub mod operator;
pub mod overview;
pub mod settings;
pub mod try_message;

use super::WebState;
use axum::Router;

/// Every section's routes.
pub fn routes() -> Router<WebState> {
    Router::new()
        .merge(overview::routes())
        .merge(cases::routes())
        .merge(members::routes())
        .merge(appeals::routes())
        .merge(incidents::routes())
        .merge(settings::routes())
        .merge(audit::routes())
        .merge(try_message::routes())
        .merge(access::routes())
        .merge(operator::routes())
}
