//! The `/graphql` and `/metadata` GraphQL endpoints (the operations ferry uses).

use serde_json::json;

use crate::server::{Reply, Req, Shared};

/// `POST /graphql`.
pub fn core_endpoint(_shared: &Shared, _req: &Req) -> Reply {
    Reply::json(
        200,
        &json!({"errors": [{"message": "The sandbox does not emulate this operation yet", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}], "data": null}),
    )
}

/// `POST /metadata`.
pub fn metadata_endpoint(_shared: &Shared, _req: &Req) -> Reply {
    Reply::json(
        200,
        &json!({"errors": [{"message": "The sandbox does not emulate this operation yet", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}], "data": null}),
    )
}
