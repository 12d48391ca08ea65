//! The engine's destination interface ([`ferry_core::load::Destination`]) on top of the client: the engine
//! decides ids, journals, settles lost answers and splits refused batches; the client sends one all-or-nothing
//! create per call and answers which ids exist.

use std::collections::HashSet;

use ferry_core::load::{Destination, Outgoing, WriteError};
use serde_json::Value;
use uuid::Uuid;

use crate::client::TwentyClient;
use crate::client::{Call, Route};
use crate::error::{ErrorKind, TwentyError};
use crate::metrics::Metrics;
use crate::schema::ObjectMeta;

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
        let schema = self.schema();
        let meta = schema.require(object, "create").map_err(|e| WriteError::Fatal(e.to_string()))?;
        let mut start = 0;
        while start < records.len() {
            let end = (start + TwentyClient::batch_cap(self)).min(records.len());
            match self.send_outgoing(meta, &records[start..end]).await {
                Ok(_) => start = end,
                Err(e) if matches!(e.kind, ErrorKind::TooManyRecords { .. }) && end - start > 1 => {
                    self.lower_batch_cap(e.batch_cap().unwrap_or((end - start) / 2).min(end - start - 1));
                }
                Err(e) if start > 0 => {
                    return Err(WriteError::Ambiguous(format!("part of the batch was written, then: {e}")));
                }
                Err(e) => {
                    let e = if records.len() == 1 {
                        let mut record = records[0].values.clone();
                        record.insert("id".into(), Value::String(records[0].id.to_string()));
                        self.explain(meta, e, &record, Some(crate::RecordRef::Id(records[0].id))).await
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

/// A batch as the create call sends it: each record's values, then its id — serialised straight from the records.
struct Payload<'a>(&'a [Outgoing]);

impl serde::Serialize for Payload<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        struct One<'a>(&'a Outgoing);
        impl serde::Serialize for One<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(Some(self.0.values.len() + 1))?;
                for (k, v) in self.0.values.iter().filter(|(k, _)| k.as_str() != "id") {
                    map.serialize_entry(k, v)?;
                }
                map.serialize_entry("id", &self.0.id)?;
                map.end()
            }
        }
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for r in self.0 {
            seq.serialize_element(&One(r))?;
        }
        seq.end()
    }
}

/// `{"data": {"createCompanies": [...]}}` read for the number of records only (their bodies are skipped, not
/// built: the engine needs the confirmation, not the echo).
#[derive(serde::Deserialize)]
struct Written {
    data: std::collections::HashMap<String, Vec<serde::de::IgnoredAny>>,
}

impl TwentyClient {
    /// One create-many request for `records` (at most the batch cap), all or nothing.
    async fn send_outgoing(&self, meta: &ObjectMeta, records: &[Outgoing]) -> Result<(), TwentyError> {
        let op = format!("create {} (batch of {})", meta.name_plural, records.len());
        let body = serde_json::to_vec(&Payload(records)).map_err(|e| {
            TwentyError::new(ErrorKind::InvalidInput, op.clone(), format!("cannot encode the batch: {e}"))
                .with_object(&meta.name_singular)
        })?;
        let call = Call::new(reqwest::Method::POST, Route::Records, format!("rest/batch/{}", meta.name_plural), &op)
            .object(&meta.name_singular)
            .idempotent(false)
            .json_bytes(body);
        let answer = self.execute(call).await?;
        let protocol = |what: String| {
            TwentyError::new(ErrorKind::Protocol, op.clone(), format!("unexpected answer: {what}"))
                .with_object(&meta.name_singular)
        };
        let written: Written = serde_json::from_slice(&answer).map_err(|e| protocol(format!("no data array ({e})")))?;
        let n = written.data.values().next().map_or(0, Vec::len);
        if n != records.len() {
            return Err(protocol(format!("{} records sent, {n} returned", records.len())));
        }
        Metrics::add(&self.inner.metrics.records_written, n as u64);
        Ok(())
    }
}
