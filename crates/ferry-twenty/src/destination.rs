//! The engine's destination interface ([`ferry_core::load::Destination`]) on top of the client: the engine
//! decides ids, journals, settles lost answers and splits refused batches; the client sends one all-or-nothing
//! create per call and answers which ids exist.

use std::collections::HashSet;

use ferry_core::load::{Destination, Outgoing, WriteError};
use serde_json::Value;
use uuid::Uuid;

use crate::client::TwentyClient;
use crate::error::{ErrorKind, TwentyError};
use crate::records::WriteMode;

/// Maps a client error to the engine's three outcomes.
pub fn write_error(e: &TwentyError) -> WriteError {
    if e.outcome_unknown {
        return WriteError::Ambiguous(e.to_string());
    }
    match e.kind {
        ErrorKind::UnknownField
        | ErrorKind::InvalidValue
        | ErrorKind::Duplicate
        | ErrorKind::MissingRelationTarget
        | ErrorKind::BadRequest
        | ErrorKind::TooManyRecords { .. } => WriteError::Refused { message: e.to_string(), field: e.field.clone() },
        _ => WriteError::Fatal(e.to_string()),
    }
}

impl Destination for TwentyClient {
    fn batch_cap(&self, _object: &str) -> usize {
        TwentyClient::batch_cap(self)
    }

    /// Creates `records` with their ids. When the server's cap turns out lower than the batch, the batch is
    /// sent in parts; if a later part fails after an earlier one was written, the outcome is reported as
    /// ambiguous so the engine asks which ids exist.
    async fn create(&self, object: &str, records: &[Outgoing]) -> Result<(), WriteError> {
        let meta = self.schema().require(object, "create").cloned().map_err(|e| WriteError::Fatal(e.to_string()))?;
        let payload: Vec<Value> = records
            .iter()
            .map(|r| {
                let mut v = r.values.clone();
                v.insert("id".into(), Value::String(r.id.to_string()));
                Value::Object(v)
            })
            .collect();
        let mut start = 0;
        while start < payload.len() {
            let end = (start + TwentyClient::batch_cap(self)).min(payload.len());
            match self.send_batch(&meta, &payload[start..end], WriteMode::Create).await {
                Ok(_) => start = end,
                Err(e) if matches!(e.kind, ErrorKind::TooManyRecords { .. }) && end - start > 1 => {
                    self.lower_batch_cap(e.batch_cap().unwrap_or((end - start) / 2).min(end - start - 1));
                }
                Err(e) if start > 0 => {
                    return Err(WriteError::Ambiguous(format!("part of the batch was written, then: {e}")));
                }
                Err(e) => {
                    let e = if payload.len() == 1 {
                        let record = payload[0].as_object().cloned().unwrap_or_default();
                        self.explain(&meta, e, &record, Some(crate::RecordRef::Id(records[0].id))).await
                    } else {
                        e
                    };
                    return Err(write_error(&e));
                }
            }
        }
        Ok(())
    }

    async fn existing(&self, object: &str, ids: &[Uuid]) -> Result<HashSet<Uuid>, WriteError> {
        self.existing_ids(object, ids, false).await.map_err(|e| {
            if e.is_transient() { WriteError::Ambiguous(e.to_string()) } else { WriteError::Fatal(e.to_string()) }
        })
    }
}
