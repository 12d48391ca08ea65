//! The Atomic CRM source as the plan proposer sees it ([`ferry_core::propose::SourceModel`]): its objects and
//! fields ([`crate::object_defs`]) with the enums really in use filled in as select options, its users, its
//! currency, and what will not migrate (automation, and the tables that are settings rather than records).

use std::path::Path;

use ferry_core::plan::{Endpoint, NotMigrated, UsersPlan};
use ferry_core::propose::SourceModel;
use ferry_core::{FieldKind, ObjectDef};

use crate::attachments::StorageSettings;
use crate::audit::object_defs;
use crate::enums::{EnumKey, Enums, OBSERVED_COLUMNS, Origin};
use crate::error::AtomicError;
use crate::extract::{read_catalog, read_users};
use crate::inventory::inventory;
use crate::source::SourceSpec;

/// The connector's name in plans (`source.kind`).
pub const ENDPOINT_KIND: &str = "atomic-crm";

/// The users table and its e-mail column.
const USERS_OBJECT: &str = "sales";

/// Problems listed in the notes, at most.
const MAX_NOTED_PROBLEMS: usize = 20;

/// Describes an Atomic CRM source for the proposer: reads its structure, its users and (one pass over the data) the
/// enums in use. `config` is a TypeScript configuration (`App.tsx`…) for databases without a configuration row.
pub async fn describe(source: &SourceSpec, config: Option<&Path>) -> Result<SourceModel, AtomicError> {
    let (catalog, detection, mut problems) = read_catalog(source).await?;
    let (users, user_problems) = read_users(source).await?;
    problems.extend(user_problems);
    let found = inventory(source, config, &StorageSettings::default()).await?;
    problems.extend(found.problems.iter().cloned());

    let mut objects = object_defs(&catalog, &detection);
    fill_options(&mut objects, &found.enums);
    mark_references(&mut objects);

    let mut not_migrated: Vec<NotMigrated> = settings_tables(&objects, &found.records);
    not_migrated.extend(catalog.automation.iter().map(|item| {
        NotMigrated {
            kind: item.kind.as_str().to_string(),
            name: item.name.clone(),
            what: match &item.on {
                Some(on) => format!("{} (on {on})", item.description),
                None => item.description.clone(),
            },
            why: "automation does not migrate: rebuild what is still needed with the destination's own workflows and \
              permissions"
                .into(),
        }
    }));

    let currency = match found.enums.currency.origin {
        Origin::Defaults => None,
        _ => Some(found.enums.currency.value.clone()),
    };
    let mut notes = vec![format!("schema generation {}: {}", detection.generation, detection.generation.describe())];
    for key in EnumKey::ALL {
        let def = found.enums.get(key);
        notes.push(format!("{} from {} ({} options)", key.config_key(), def.origin, def.options.len()));
    }
    if found.enums.labels_era {
        notes.push(
            "enum columns hold display labels (schema before 2026-02-11): both the labels stored and the slugs are \
             mapped to the same options"
                .into(),
        );
    }
    if !problems.is_empty() {
        notes.push(format!("{} problems found in the source (run `ferry audit` for all of them):", problems.len()));
        notes.extend(problems.iter().take(MAX_NOTED_PROBLEMS).map(|p| format!("  {p}")));
    }
    Ok(SourceModel {
        endpoint: Endpoint { kind: ENDPOINT_KIND.into(), location: source.display_name() },
        objects,
        users: Some(UsersPlan { object: USERS_OBJECT.into(), email: "email".into() }),
        user_emails: users.iter().filter_map(|u| u.email.clone()).collect(),
        currency,
        not_migrated,
        notes,
    })
}

/// Sets the options of every enum column from the effective enums (value = what records store: the slug, or the
/// tag id for tags; label = what people read). Labels stored by older schemas are options too, with the label of
/// the option they stand for, so both map to the same destination option.
pub fn fill_options(objects: &mut [ObjectDef], enums: &Enums) {
    for column in OBSERVED_COLUMNS {
        let def = enums.get(column.key);
        let Some(field) = objects
            .iter_mut()
            .filter(|o| o.name == column.table)
            .flat_map(|o| o.fields.iter_mut())
            .find(|f| f.name == column.column)
        else {
            continue;
        };
        if !matches!(field.kind, FieldKind::Select | FieldKind::MultiSelect) {
            continue;
        }
        let mut options = def.select_options();
        for (stored, value) in &def.legacy_values {
            if options.iter().any(|o| &o.value == stored) {
                continue;
            }
            if let Some(o) = def.option(value) {
                options.push(ferry_core::SelectOption {
                    value: stored.clone(),
                    label: o.label.clone(),
                    color: o.color.clone(),
                    position: options.len() as u32,
                });
            }
        }
        field.options = options;
    }
}

/// `deals.contact_ids` is an array of contact ids: an `array` field with a target.
fn mark_references(objects: &mut [ObjectDef]) {
    for o in objects.iter_mut().filter(|o| o.name == "deals") {
        for f in o.fields.iter_mut().filter(|f| f.name == "contact_ids") {
            f.kind = FieldKind::Array;
            f.target = Some("contacts".into());
        }
    }
}

/// Atomic CRM's tables that hold settings, not records: not loaded, with why.
fn settings_tables(objects: &[ObjectDef], records: &std::collections::BTreeMap<String, u64>) -> Vec<NotMigrated> {
    let count = |name: &str| records.get(name).copied().unwrap_or(0);
    let mut out = Vec::new();
    for o in objects {
        let why = match o.name.as_str() {
            "tags" => {
                "tags are not records: each tag becomes an option of the contacts' tags multi-select (value = \
                       the tag id the contacts store, label = its name, color kept)"
            }
            "configuration" => {
                "the configuration row is not a record: its deal stages, categories, sectors, task types and note \
                 statuses become select options, and its currency the currency of amounts, in this plan"
            }
            "favicons_excluded_domains" => {
                "these domains only tell the favicon automation which logos not to look up; that automation does not \
                 migrate, so neither do its settings"
            }
            _ => continue,
        };
        out.push(NotMigrated {
            kind: "table".into(),
            name: o.name.clone(),
            what: format!("{} rows", count(&o.name)),
            why: why.into(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::{TagRow, defaults, set_tags};
    use ferry_core::FieldDef;

    fn field(name: &str, kind: FieldKind) -> FieldDef {
        FieldDef::new(name, name, kind)
    }

    fn object(name: &str, fields: Vec<FieldDef>) -> ObjectDef {
        ObjectDef { name: name.into(), label: name.into(), custom: false, key: "id".into(), fields }
    }

    #[test]
    fn enum_columns_get_their_options_and_tags_their_ids_and_names() {
        let mut enums = defaults();
        let problems = set_tags(
            &mut enums,
            &[
                TagRow { id: 7, name: "football-fan".into(), color: "#eddcd2".into() },
                TagRow { id: 9, name: "vip".into(), color: String::new() },
            ],
        );
        assert!(problems.is_empty());
        let mut objects = vec![
            object("deals", vec![field("stage", FieldKind::Select), field("contact_ids", FieldKind::Array)]),
            object("contacts", vec![field("tags", FieldKind::MultiSelect)]),
            object("tags", vec![field("name", FieldKind::Text)]),
        ];
        fill_options(&mut objects, &enums);
        mark_references(&mut objects);
        let stage = &objects[0].fields[0];
        assert!(stage.options.iter().any(|o| o.value == "in-negociation"), "{:?}", stage.options);
        assert_eq!(objects[0].fields[1].target.as_deref(), Some("contacts"));
        let tags = &objects[1].fields[0];
        assert_eq!(
            tags.options.iter().map(|o| (o.value.as_str(), o.label.as_str())).collect::<Vec<_>>(),
            vec![("7", "football-fan"), ("9", "vip")]
        );
        assert_eq!(tags.options[0].color.as_deref(), Some("#eddcd2"));
        let nm = settings_tables(&objects, &[("tags".to_string(), 2)].into());
        assert_eq!(nm.len(), 1);
        assert_eq!(nm[0].what, "2 rows");
        assert!(nm[0].why.contains("option"));
    }
}
