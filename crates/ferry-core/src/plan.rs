//! The migration plan: a human-editable TOML file that says what goes where, and why.
//!
//! `plan` writes it, people read and edit it, `apply`, `verify` and `rollback` follow it. Proposing a plan again
//! over an edited one keeps the edits: see [`Plan::merge_edits`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::schema::{FieldKind, SelectOption};
use crate::transform::Transform;

/// The plan format this code writes.
pub const PLAN_VERSION: u32 = 1;

/// A whole migration plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Format version of this file.
    pub version: u32,
    pub source: Endpoint,
    pub destination: Endpoint,
    /// The journal file (relative paths are relative to the plan file).
    pub journal: PathBuf,
    /// The source object that holds users, when relations point at users (they resolve to destination members
    /// through `members`, never to migrated records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<UsersPlan>,
    /// Source users → destination members.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberMatch>,
    /// Objects, fields and options to create in the destination before loading.
    #[serde(default)]
    pub create: Creations,
    /// What to load, in this order (parents before children).
    #[serde(default, rename = "object")]
    pub objects: Vec<ObjectPlan>,
    /// Every transform that cannot carry all of the source over, and what happens to the rest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lossy: Vec<Lossy>,
    /// Source items that will not migrate at all (automations, views…), with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_migrated: Vec<NotMigrated>,
}

/// A source or destination: what kind of system, and where. Never holds a secret: passwords and API keys come
/// from the environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The system's kind (e.g. the name of the crate's connector).
    pub kind: String,
    /// A URL without its password, or a file path.
    pub location: String,
}

/// Where the source's users are: relations whose `target` is this object resolve to destination members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersPlan {
    /// The source object (e.g. `sales`).
    pub object: String,
    /// Its field holding the user's e-mail.
    pub email: String,
}

/// One source user and the destination member who takes over what they own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberMatch {
    pub source: String,
    /// The destination member's e-mail; none when no member matches (the reconciliation list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    pub reason: String,
}

/// Data-model changes to make in the destination.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Creations {
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "object")]
    pub objects: Vec<NewObject>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "field")]
    pub fields: Vec<NewField>,
    /// Options to add to fields that exist already.
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "options")]
    pub options: Vec<NewOptions>,
}

/// A destination object to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewObject {
    pub name: String,
    pub label: String,
    pub plural: String,
    pub plural_label: String,
    pub reason: String,
}

/// A destination field to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewField {
    pub object: String,
    pub name: String,
    pub label: String,
    pub kind: FieldKind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<SelectOption>,
    /// For a relation: the object it points at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub reason: String,
}

/// Options to add to an existing select field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewOptions {
    pub object: String,
    pub field: String,
    pub options: Vec<SelectOption>,
    pub reason: String,
}

/// One source object loaded into one destination object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectPlan {
    pub source: String,
    pub destination: String,
    /// Set to true to leave this object out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip: bool,
    pub reason: String,
    #[serde(default, rename = "field")]
    pub fields: Vec<FieldPlan>,
    #[serde(default, rename = "relation", skip_serializing_if = "Vec::is_empty")]
    pub relations: Vec<RelationPlan>,
    /// Join records created for each loaded record (e.g. one `noteTarget` per note, pointing at its person).
    #[serde(default, rename = "link", skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<LinkPlan>,
    /// Source fields holding files, attached to the loaded record.
    #[serde(default, rename = "attachment", skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentPlan>,
}

/// Join records made from one source reference field: for each key it holds (one, or each of an array), one record
/// of `destination` whose `parent` field points at the loaded record and whose `field` points at the record `key`
/// of source object `target`. Loaded after every object, in the journal as object `{source object}.{source}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkPlan {
    /// The destination join object (e.g. `noteTarget`).
    pub destination: String,
    /// Its relation field pointing at the loaded record (e.g. `noteId`).
    pub parent: String,
    /// Its relation field pointing at the target (e.g. `personId`).
    pub field: String,
    /// The source field holding the target's key, or an array of keys.
    pub source: String,
    /// The source object the keys belong to.
    pub target: String,
    pub reason: String,
}

/// Files held by a source field (one reference or an array of them), each attached to the loaded record. In the
/// journal as object `{source object}.{source}`, keyed `{record key}/{index}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentPlan {
    /// The source field.
    pub source: String,
    pub reason: String,
}

/// How one destination field is filled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldPlan {
    pub destination: String,
    /// The source fields read, in the order the transform takes them.
    pub source: Vec<String>,
    pub transform: Transform,
    /// Why this was proposed (same name, label similarity, type compatibility…) or who decided it.
    pub reason: String,
}

/// How one destination relation is filled from a source reference. When the source field holds an array of keys,
/// the first one is used (say in `lossy` what happens to the others, e.g. a [`LinkPlan`] keeps them all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationPlan {
    /// The destination join field (e.g. `companyId`).
    pub destination: String,
    /// The source field holding the referenced key.
    pub source: String,
    /// The source object the key belongs to.
    pub target: String,
    /// Whether the record is skipped when the target is missing (otherwise only the relation is left out).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    pub reason: String,
}

/// A transform that cannot carry everything over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lossy {
    pub object: String,
    pub field: String,
    pub what: String,
}

/// A source item that does not migrate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotMigrated {
    pub kind: String,
    pub name: String,
    pub what: String,
    pub why: String,
}

/// A plan file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot read the plan {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write the plan {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("the plan {path} is not valid: {message} (fix the file, or delete it and run `ferry plan` again)")]
    Invalid { path: PathBuf, message: String },
    #[error("the plan {path} has format version {found}; this ferry reads version {PLAN_VERSION}")]
    Version { path: PathBuf, found: u32 },
}

impl Plan {
    /// Reads a plan file.
    pub fn load(path: &Path) -> Result<Plan, PlanError> {
        let text = std::fs::read_to_string(path).map_err(|source| PlanError::Read { path: path.into(), source })?;
        Plan::parse(&text, path)
    }

    /// Parses plan text; `path` is only used in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Plan, PlanError> {
        let plan: Plan =
            toml::from_str(text).map_err(|e| PlanError::Invalid { path: path.into(), message: e.to_string() })?;
        if plan.version != PLAN_VERSION {
            return Err(PlanError::Version { path: path.into(), found: plan.version });
        }
        plan.check().map_err(|message| PlanError::Invalid { path: path.into(), message })?;
        Ok(plan)
    }

    /// The plan as TOML, with a header that says how to use it.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).expect("a plan is always representable in TOML");
        format!(
            "# ferry migration plan. Edit freely: `ferry plan --out` on this file keeps your edits.\n\
             # Secrets are not kept here: set TWENTY_API_KEY (and the database password in PGPASSWORD) when applying.\n\n{body}"
        )
    }

    /// Writes the plan to `path` (through a temporary file, so a crash never leaves half a plan).
    pub fn save(&self, path: &Path) -> Result<(), PlanError> {
        let tmp = path.with_extension("toml.tmp");
        let write = |p: &Path| std::fs::write(p, self.to_toml());
        write(&tmp)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|source| PlanError::Write { path: path.into(), source })
    }

    /// The journal's path, resolved against the plan file's folder.
    pub fn journal_path(&self, plan_file: &Path) -> PathBuf {
        if self.journal.is_absolute() {
            self.journal.clone()
        } else {
            plan_file.parent().unwrap_or(Path::new(".")).join(&self.journal)
        }
    }

    /// Checks what serde cannot: names unique, relations pointing at planned objects.
    fn check(&self) -> Result<(), String> {
        let mut seen = BTreeMap::new();
        for o in &self.objects {
            if seen.insert(o.source.as_str(), ()).is_some() {
                return Err(format!("object {:?} is planned twice", o.source));
            }
            let mut fields = BTreeMap::new();
            for f in &o.fields {
                if fields.insert(f.destination.as_str(), ()).is_some() {
                    return Err(format!("{} → {}: field {:?} is filled twice", o.source, o.destination, f.destination));
                }
                if f.source.is_empty() {
                    return Err(format!("{}.{}: `source` names no source field", o.destination, f.destination));
                }
            }
        }
        let is_users = |t: &str| self.users.as_ref().is_some_and(|u| u.object == t);
        for o in &self.objects {
            for r in &o.relations {
                if !seen.contains_key(r.target.as_str()) && !is_users(&r.target) {
                    return Err(format!(
                        "{}.{} points at {:?}, which the plan does not load (add it or remove the relation)",
                        o.source, r.source, r.target
                    ));
                }
            }
            for l in &o.links {
                if !seen.contains_key(l.target.as_str()) {
                    return Err(format!(
                        "{}.{} links to {:?}, which the plan does not load (add it or remove the link)",
                        o.source, l.source, l.target
                    ));
                }
            }
        }
        Ok(())
    }

    /// Merges a freshly proposed plan with this one, which a person may have edited: whatever this plan says about
    /// an object, field, relation, member or creation that the proposal also covers is kept as is (edits win);
    /// what only the proposal has is added; what only this plan has is kept when its source still exists in the
    /// proposal's source object list, and dropped otherwise (returned as notes, so nothing changes silently).
    pub fn merge_edits(&self, proposed: Plan) -> (Plan, Vec<String>) {
        let mut notes = Vec::new();
        let mut merged = proposed.clone();
        let proposed_objects: BTreeMap<&str, &ObjectPlan> =
            proposed.objects.iter().map(|o| (o.source.as_str(), o)).collect();
        merged.objects = Vec::new();
        for old in &self.objects {
            match proposed_objects.get(old.source.as_str()) {
                None => notes.push(format!("object {} is no longer in the source; dropped from the plan", old.source)),
                Some(new) => {
                    let mut o = old.clone();
                    for f in &new.fields {
                        if !o.fields.iter().any(|x| x.destination == f.destination) {
                            notes.push(format!("{}.{}: newly proposed", o.destination, f.destination));
                            o.fields.push(f.clone());
                        }
                    }
                    for r in &new.relations {
                        if !o.relations.iter().any(|x| x.destination == r.destination) {
                            o.relations.push(r.clone());
                        }
                    }
                    for l in &new.links {
                        if !o.links.iter().any(|x| x.destination == l.destination && x.source == l.source) {
                            o.links.push(l.clone());
                        }
                    }
                    for a in &new.attachments {
                        if !o.attachments.iter().any(|x| x.source == a.source) {
                            o.attachments.push(a.clone());
                        }
                    }
                    merged.objects.push(o);
                }
            }
        }
        for new in &proposed.objects {
            if !self.objects.iter().any(|o| o.source == new.source) {
                notes.push(format!("object {}: newly proposed", new.source));
                merged.objects.push(new.clone());
            }
        }
        merged.members = merge_by(&self.members, &proposed.members, |m| m.source.clone());
        merged.create.objects = merge_by(&self.create.objects, &proposed.create.objects, |o| o.name.clone());
        merged.create.fields =
            merge_by(&self.create.fields, &proposed.create.fields, |f| format!("{}.{}", f.object, f.name));
        merged.create.options =
            merge_by(&self.create.options, &proposed.create.options, |f| format!("{}.{}", f.object, f.field));
        merged.journal = self.journal.clone();
        if self.users.is_some() {
            merged.users = self.users.clone();
        }
        (merged, notes)
    }
}

/// `old` entries win over `new` ones with the same key; new keys are appended.
fn merge_by<T: Clone>(old: &[T], new: &[T], key: impl Fn(&T) -> String) -> Vec<T> {
    let mut out: Vec<T> = old.to_vec();
    for n in new {
        if !old.iter().any(|o| key(o) == key(n)) {
            out.push(n.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Plan {
        Plan {
            version: PLAN_VERSION,
            source: Endpoint { kind: "sql".into(), location: "backup.sql".into() },
            destination: Endpoint { kind: "crm".into(), location: "http://127.0.0.1:3000".into() },
            journal: "migration.journal".into(),
            users: Some(UsersPlan { object: "sales".into(), email: "email".into() }),
            members: vec![MemberMatch {
                source: "jane@a.dev".into(),
                destination: None,
                reason: "no member has this e-mail".into(),
            }],
            create: Creations {
                fields: vec![NewField {
                    object: "company".into(),
                    name: "sector".into(),
                    label: "Sector".into(),
                    kind: FieldKind::Select,
                    options: vec![SelectOption {
                        value: "ENERGY".into(),
                        label: "Energy".into(),
                        color: None,
                        position: 0,
                    }],
                    target: None,
                    reason: "source column companies.sector has no destination field".into(),
                }],
                ..Creations::default()
            },
            objects: vec![
                ObjectPlan {
                    source: "companies".into(),
                    destination: "company".into(),
                    skip: false,
                    reason: "same role".into(),
                    fields: vec![FieldPlan {
                        destination: "name".into(),
                        source: vec!["name".into()],
                        transform: Transform::Text,
                        reason: "same name".into(),
                    }],
                    relations: vec![],
                    links: vec![],
                    attachments: vec![],
                },
                ObjectPlan {
                    source: "contacts".into(),
                    destination: "person".into(),
                    skip: false,
                    reason: "same role".into(),
                    fields: vec![
                        FieldPlan {
                            destination: "amount".into(),
                            source: vec!["amount".into()],
                            transform: Transform::Currency { currency: "USD".into() },
                            reason: "type compatibility".into(),
                        },
                        FieldPlan {
                            destination: "stage".into(),
                            source: vec!["stage".into()],
                            transform: Transform::Select {
                                values: [("in-negociation".to_string(), "IN_NEGOCIATION".to_string())].into(),
                            },
                            reason: "options mapped by value".into(),
                        },
                    ],
                    relations: vec![RelationPlan {
                        destination: "companyId".into(),
                        source: "company_id".into(),
                        target: "companies".into(),
                        required: false,
                        reason: "foreign key".into(),
                    }],
                    links: vec![LinkPlan {
                        destination: "noteTarget".into(),
                        parent: "noteId".into(),
                        field: "companyId".into(),
                        source: "company_id".into(),
                        target: "companies".into(),
                        reason: "join object".into(),
                    }],
                    attachments: vec![AttachmentPlan { source: "files".into(), reason: "files field".into() }],
                },
            ],
            lossy: vec![],
            not_migrated: vec![],
        }
    }

    #[test]
    fn a_plan_round_trips_through_toml() {
        let plan = sample();
        let text = plan.to_toml();
        assert!(text.starts_with("# ferry migration plan"));
        assert!(text.contains("[[object]]"), "{text}");
        let back = Plan::parse(&text, Path::new("m.toml")).unwrap();
        assert_eq!(back, plan);
    }

    #[test]
    fn relations_to_unplanned_objects_are_refused_with_the_fix() {
        let mut plan = sample();
        plan.objects.remove(0);
        let err = Plan::parse(&plan.to_toml(), Path::new("m.toml")).unwrap_err().to_string();
        assert!(err.contains("contacts.company_id points at \"companies\""), "{err}");
        assert!(err.contains("m.toml"));
    }

    #[test]
    fn bad_toml_names_the_file() {
        let err = Plan::parse("version = ", Path::new("/x/m.toml")).unwrap_err().to_string();
        assert!(err.contains("/x/m.toml"), "{err}");
    }

    #[test]
    fn re_planning_keeps_edits_and_adds_new_proposals() {
        let mut edited = sample();
        edited.objects[0].fields[0].transform = Transform::Copy;
        edited.objects[0].fields[0].reason = "decided by Ada".into();
        edited.members[0].destination = Some("jane@acme.com".into());
        edited.objects[1].skip = true;

        let mut proposed = sample();
        proposed.objects[0].fields.push(FieldPlan {
            destination: "employees".into(),
            source: vec!["size".into()],
            transform: Transform::Number,
            reason: "label similarity".into(),
        });
        let (merged, notes) = edited.merge_edits(proposed);
        assert_eq!(merged.objects[0].fields[0].reason, "decided by Ada");
        assert_eq!(merged.objects[0].fields[0].transform, Transform::Copy);
        assert_eq!(merged.objects[0].fields[1].destination, "employees");
        assert!(merged.objects[1].skip);
        assert_eq!(merged.members[0].destination.as_deref(), Some("jane@acme.com"));
        assert_eq!(notes, vec!["company.employees: newly proposed".to_string()]);
    }

    #[test]
    fn re_planning_reports_objects_gone_from_the_source() {
        let edited = sample();
        let mut proposed = sample();
        proposed.objects.retain(|o| o.source == "companies");
        let (merged, notes) = edited.merge_edits(proposed);
        assert_eq!(merged.objects.len(), 1);
        assert!(notes[0].contains("contacts is no longer in the source"));
    }

    #[test]
    fn the_journal_sits_beside_the_plan() {
        let plan = sample();
        assert_eq!(plan.journal_path(Path::new("/work/m.toml")), PathBuf::from("/work/migration.journal"));
    }
}
