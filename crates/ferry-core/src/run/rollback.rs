//! `rollback`: every record the journal says was written deleted, every data-model change undone.

use std::collections::HashSet;

use uuid::Uuid;

use super::{Progress, RUN, RunError, Tally, ws};
use crate::journal::{Journal, RowState, SchemaChangeKind};
use crate::plan::Plan;
use crate::workspace::Workspace;

/// What one `rollback` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollbackSummary {
    /// Records deleted (or found gone) per journal object, in the order they were deleted.
    pub deleted: Vec<(String, u64)>,
    /// Data-model changes undone.
    pub schema_changes: u64,
    /// Records changed by the migration whose state before could not be restored (the destination offers no way
    /// to; they are listed in the journal's before-images).
    pub not_restored: u64,
}

impl RollbackSummary {
    /// Records deleted, all objects together.
    pub fn deleted_total(&self) -> u64 {
        self.deleted.iter().map(|(_, n)| n).sum()
    }
}

/// Deletes every record the journal says this migration wrote — attachments and links first, then objects in
/// reverse plan order — in batches at the destination's cap, forgetting each batch in the journal once deleted (a
/// crashed rollback is simply run again). Rows whose outcome was unknown (`sent`) are deleted too: deleting what is
/// not there is harmless. Then undoes the data-model changes newest first, and clears the run's problems,
/// throughput and intents, so a later `apply` starts afresh (with the same destination ids). A second rollback
/// finds nothing to do.
pub async fn rollback<W: Workspace>(
    plan: &Plan,
    journal: &mut Journal,
    workspace: &W,
    progress: &mut dyn Progress,
) -> Result<RollbackSummary, RunError> {
    let mut order: Vec<(String, Option<String>)> = Vec::new();
    for o in &plan.objects {
        for a in &o.attachments {
            order.push((format!("{}.{}", o.source, a.source), workspace.attachment_object().map(str::to_string)));
        }
        for l in &o.links {
            order.push((format!("{}.{}", o.source, l.source), Some(l.destination.clone())));
        }
    }
    for o in plan.objects.iter().rev() {
        order.push((o.source.clone(), Some(o.destination.clone())));
    }
    let known: HashSet<&str> = order.iter().map(|(o, _)| o.as_str()).collect();
    let unknown: Vec<String> =
        journal.counts()?.into_iter().map(|c| c.object).filter(|o| !known.contains(o.as_str())).collect();
    if !unknown.is_empty() {
        return Err(RunError::Plan(format!(
            "the journal {} holds records of {} which the plan no longer names, so ferry cannot tell where they \
             went; put those objects back in the plan (`skip = true` is fine) and run `rollback` again",
            journal.path().display(),
            unknown.join(", ")
        )));
    }

    let mut out = RollbackSummary::default();
    for (object, destination) in &order {
        let mut rows = journal.rows_in_state(object, RowState::Written)?;
        rows.extend(journal.rows_in_state(object, RowState::Sent)?);
        let mut tally = Tally::default();
        if !rows.is_empty() {
            let Some(destination) = destination else {
                return Err(RunError::Plan(format!(
                    "{object}: {} attachments were written but the destination names no object holding \
                     attachments, so they cannot be deleted; delete them by hand",
                    rows.len()
                )));
            };
            progress.start(object, rows.len() as u64);
            for chunk in rows.chunks(workspace.batch_cap(destination).max(1)) {
                let ids: Vec<Uuid> = chunk.iter().filter_map(|(_, d)| Uuid::parse_str(d).ok()).collect();
                workspace
                    .delete(destination, &ids)
                    .await
                    .map_err(ws(format!("deleting {} records of {destination}", ids.len())))?;
                let keys: Vec<&str> = chunk.iter().map(|(k, _)| k.as_str()).collect();
                journal.forget_rows(object, &keys)?;
                tally.done += chunk.len() as u64;
                tally.written += chunk.len() as u64;
                progress.advance(object, &tally);
            }
            progress.finish(object, &tally);
            out.deleted.push((object.clone(), tally.written));
        }
        let mut settled = journal.rows_in_state(object, RowState::Rejected)?;
        settled.extend(journal.rows_in_state(object, RowState::Skipped)?);
        let keys: Vec<&str> = settled.iter().map(|(k, _)| k.as_str()).collect();
        journal.forget_rows(object, &keys)?;
    }

    let changes = journal.schema_changes_to_undo()?;
    // Objects this migration created go with their fields: undoing a field of such an object first is needless,
    // and may be refused (a destination's default fields, such as a custom object's `name`, cannot be deleted).
    let created_objects: HashSet<String> =
        changes.iter().filter(|c| c.kind == SchemaChangeKind::ObjectCreated).map(|c| c.object.clone()).collect();
    for change in changes {
        if change.field.is_some() && created_objects.contains(&change.object) {
            journal.mark_schema_change_undone(change.seq)?;
            out.schema_changes += 1;
            continue;
        }
        let what = match &change.field {
            Some(f) => format!("undoing {:?} of {}.{f}", change.kind, change.object),
            None => format!("undoing {:?} of {}", change.kind, change.object),
        };
        workspace.undo(&change).await.map_err(ws(what))?;
        journal.mark_schema_change_undone(change.seq)?;
        out.schema_changes += 1;
    }
    out.not_restored = journal.before_images()?.len() as u64;
    journal.clear_run_history(RUN)?;
    Ok(out)
}
