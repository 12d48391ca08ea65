//! The workspace's data model (objects, fields, options, relations), loaded from the recorded standard model.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::config::TargetColumns;
use crate::error::SandboxError;

/// The standard data model extracted from the recording (01 + 02); see `data/extract.py`.
const STANDARD_MODEL: &str = include_str!("../data/standard-model.json");

/// Namespace for the sandbox's deterministic metadata ids.
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x6a1f_0c3e_9b2d_4e7a_8f10_5c4b_3a29_1d0e);

/// A deterministic id for a piece of standard metadata (stable across restarts).
pub fn standard_id(kind: &str, path: &str) -> String {
    Uuid::new_v5(&ID_NAMESPACE, format!("{kind}:{path}").as_bytes()).to_string()
}

/// One SELECT / MULTI_SELECT option.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelectOption {
    /// Option id.
    pub id: String,
    /// Colour name.
    pub color: Value,
    /// Label.
    pub label: Value,
    /// Stored value (UPPER_SNAKE_CASE).
    pub value: String,
    /// Position.
    pub position: Value,
}

/// One side of a relation as the metadata tells it: target object and the field on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelationRef {
    /// `MANY_TO_ONE` or `ONE_TO_MANY`.
    #[serde(rename = "type")]
    pub rtype: String,
    /// Target object's `nameSingular`.
    pub target: String,
    /// Name of the field on the target object (`target` for a morph group).
    pub target_field: String,
}

/// One field of an object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldMeta {
    /// Field id.
    pub id: String,
    /// API name.
    pub name: String,
    /// Twenty field type (`TEXT`, `LINKS`, `RELATION`…).
    #[serde(rename = "type")]
    pub ftype: String,
    /// Label.
    pub label: String,
    /// Description.
    pub description: Option<String>,
    /// Icon.
    pub icon: Option<String>,
    /// Custom field.
    pub is_custom: bool,
    /// Active.
    pub is_active: bool,
    /// System field.
    pub is_system: bool,
    /// Nullable.
    pub is_nullable: bool,
    /// Unique.
    pub is_unique: bool,
    /// Default value as the metadata reports it (SQL-quoted strings for TEXT/SELECT).
    pub default_value: Value,
    /// Options of SELECT / MULTI_SELECT.
    pub options: Option<Vec<SelectOption>>,
    /// Settings (join column, onDelete, relationType…).
    pub settings: Option<Value>,
    /// The relation (RELATION fields).
    pub relation: Option<RelationRef>,
    /// The morph relations (MORPH_RELATION fields).
    pub morph_relations: Option<Vec<RelationRef>>,
    /// Creation time.
    pub created_at: String,
    /// Last update time.
    pub updated_at: String,
}

impl FieldMeta {
    /// The join column of a MANY_TO_ONE relation or a morph relation (`companyId`, `targetCompanyId`).
    pub fn join_column(&self) -> Option<String> {
        match self.ftype.as_str() {
            "RELATION" if self.relation.as_ref().is_some_and(|r| r.rtype == "MANY_TO_ONE") => {
                Some(self.settings_join_column().unwrap_or_else(|| format!("{}Id", self.name)))
            }
            "MORPH_RELATION" => Some(self.settings_join_column().unwrap_or_else(|| format!("{}Id", self.name))),
            _ => None,
        }
    }

    /// Whether [`FieldMeta::join_column`] is `column` (asked per written record: no allocation).
    fn has_join_column(&self, column: &str) -> bool {
        let joins = match self.ftype.as_str() {
            "RELATION" => self.relation.as_ref().is_some_and(|r| r.rtype == "MANY_TO_ONE"),
            "MORPH_RELATION" => true,
            _ => false,
        };
        joins
            && match self.settings.as_ref().and_then(|s| s.get("joinColumnName")).and_then(Value::as_str) {
                Some(c) => c == column,
                None => column.strip_suffix("Id") == Some(self.name.as_str()),
            }
    }

    fn settings_join_column(&self) -> Option<String> {
        self.settings.as_ref()?.get("joinColumnName")?.as_str().map(str::to_string)
    }

    /// The object a MANY_TO_ONE or morph field points at.
    pub fn points_at(&self) -> Option<&str> {
        match self.ftype.as_str() {
            "RELATION" => self.relation.as_ref().filter(|r| r.rtype == "MANY_TO_ONE").map(|r| r.target.as_str()),
            "MORPH_RELATION" => self.morph_relations.as_ref()?.first().map(|r| r.target.as_str()),
            _ => None,
        }
    }

    /// `onDelete` of a MANY_TO_ONE side (`SET_NULL` when not told).
    pub fn on_delete(&self) -> &str {
        self.settings.as_ref().and_then(|s| s.get("onDelete")).and_then(Value::as_str).unwrap_or("SET_NULL")
    }

    /// Whether this is a one-to-many relation field.
    pub fn is_one_to_many(&self) -> bool {
        self.ftype == "RELATION" && self.relation.as_ref().is_some_and(|r| r.rtype == "ONE_TO_MANY")
    }

    /// The option values of a SELECT / MULTI_SELECT field.
    pub fn option_values(&self) -> Vec<&str> {
        self.options.as_ref().map(|o| o.iter().map(|o| o.value.as_str()).collect()).unwrap_or_default()
    }
}

/// One object (standard or custom).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Object id.
    pub id: String,
    /// Singular API name.
    pub name_singular: String,
    /// Plural API name (REST route).
    pub name_plural: String,
    /// Singular label.
    pub label_singular: String,
    /// Plural label.
    pub label_plural: String,
    /// Description.
    pub description: Option<String>,
    /// Icon.
    pub icon: Option<String>,
    /// Custom object.
    pub is_custom: bool,
    /// Active.
    pub is_active: bool,
    /// System object.
    pub is_system: bool,
    /// Creation time.
    pub created_at: String,
    /// Last update time.
    pub updated_at: String,
    /// Name of the label identifier field.
    pub label_identifier: Option<String>,
    /// Name of the image identifier field.
    pub image_identifier: Option<String>,
    /// Key order of REST record bodies (as recorded); fields not listed follow in field order.
    pub column_order: Vec<String>,
    /// Fields, in metadata order.
    pub fields: Vec<FieldMeta>,
}

impl ObjectMeta {
    /// The field of this name.
    pub fn field(&self, name: &str) -> Option<&FieldMeta> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The field of this name, mutable.
    pub fn field_mut(&mut self, name: &str) -> Option<&mut FieldMeta> {
        self.fields.iter_mut().find(|f| f.name == name)
    }

    /// The field whose join column is `column` (`companyId` → `company`).
    pub fn field_by_join_column(&self, column: &str) -> Option<&FieldMeta> {
        self.fields.iter().find(|f| f.has_join_column(column))
    }

    /// Database table name (custom objects get a leading underscore), used in raw database messages.
    pub fn table_name(&self) -> String {
        if self.is_custom { format!("_{}", self.name_singular) } else { self.name_singular.clone() }
    }

    /// Whether REST bodies show the morph join columns of this object.
    pub fn shows_morph_columns(&self, target_columns: TargetColumns) -> bool {
        target_columns == TargetColumns::Morph
    }

    /// The keys of a REST record body at depth 0, in order.
    pub fn body_keys(&self, target_columns: TargetColumns) -> Vec<String> {
        let show_morph = self.shows_morph_columns(target_columns);
        let mut keys: Vec<String> = Vec::new();
        for f in &self.fields {
            match f.ftype.as_str() {
                "RELATION" => {
                    if let Some(c) = f.join_column() {
                        keys.push(c);
                    }
                }
                "MORPH_RELATION" => {
                    if show_morph && let Some(c) = f.join_column() {
                        keys.push(c);
                    }
                }
                _ => keys.push(f.name.clone()),
            }
        }
        let mut ordered: Vec<String> = self.column_order.iter().filter(|k| keys.contains(k)).cloned().collect();
        for k in keys {
            if !ordered.contains(&k) {
                ordered.push(k);
            }
        }
        ordered
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawModel {
    objects: Vec<RawObject>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawObject {
    id: Option<String>,
    name_singular: String,
    name_plural: String,
    label_singular: String,
    label_plural: String,
    description: Option<String>,
    icon: Option<String>,
    is_system: bool,
    label_identifier: Option<String>,
    image_identifier: Option<String>,
    column_order: Option<Vec<String>>,
    fields: Vec<RawField>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawField {
    id: Option<String>,
    name: String,
    #[serde(rename = "type")]
    ftype: String,
    label: String,
    description: Option<String>,
    icon: Option<String>,
    is_system: bool,
    is_nullable: bool,
    is_unique: bool,
    default_value: Value,
    options: Option<Vec<RawOption>>,
    settings: Option<Value>,
    relation: Option<RelationRef>,
    morph_relations: Option<Vec<RelationRef>>,
}

#[derive(Deserialize)]
struct RawOption {
    id: Option<String>,
    value: String,
    label: Value,
    color: Value,
    position: Value,
}

/// The whole data model of the workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// Objects in metadata order.
    pub objects: Vec<ObjectMeta>,
}

impl Schema {
    /// The standard data model of the recorded build, adjusted to the version settings.
    pub fn standard(
        created_at: &str,
        target_columns: TargetColumns,
        files_field: bool,
    ) -> Result<Schema, SandboxError> {
        let raw: RawModel = serde_json::from_str(STANDARD_MODEL).map_err(|e| SandboxError::Model(e.to_string()))?;
        let mut objects = Vec::new();
        for o in raw.objects {
            let obj_path = o.name_singular.clone();
            let fields = o
                .fields
                .into_iter()
                .map(|f| {
                    let fpath = format!("{obj_path}.{}", f.name);
                    FieldMeta {
                        id: f.id.clone().unwrap_or_else(|| standard_id("field", &fpath)),
                        options: f.options.map(|opts| {
                            opts.into_iter()
                                .map(|op| SelectOption {
                                    id: op
                                        .id
                                        .clone()
                                        .unwrap_or_else(|| standard_id("option", &format!("{fpath}.{}", op.value))),
                                    color: op.color,
                                    label: op.label,
                                    value: op.value,
                                    position: op.position,
                                })
                                .collect()
                        }),
                        name: f.name,
                        ftype: f.ftype,
                        label: f.label,
                        description: f.description,
                        icon: f.icon,
                        is_custom: false,
                        is_active: true,
                        is_system: f.is_system,
                        is_nullable: f.is_nullable,
                        is_unique: f.is_unique,
                        default_value: f.default_value,
                        settings: f.settings,
                        relation: f.relation,
                        morph_relations: f.morph_relations,
                        created_at: created_at.to_string(),
                        updated_at: created_at.to_string(),
                    }
                })
                .collect();
            objects.push(ObjectMeta {
                id: o.id.clone().unwrap_or_else(|| standard_id("object", &obj_path)),
                name_singular: o.name_singular,
                name_plural: o.name_plural,
                label_singular: o.label_singular,
                label_plural: o.label_plural,
                description: o.description,
                icon: o.icon,
                is_custom: false,
                is_active: true,
                is_system: o.is_system,
                created_at: created_at.to_string(),
                updated_at: created_at.to_string(),
                label_identifier: o.label_identifier,
                image_identifier: o.image_identifier,
                column_order: o.column_order.unwrap_or_else(default_column_order),
                fields,
            });
        }
        let mut schema = Schema { objects };
        if target_columns == TargetColumns::Morph {
            schema.morph_note_task_targets(created_at);
        }
        if files_field {
            schema.add_attachment_files_field(created_at);
        }
        schema.check()?;
        Ok(schema)
    }

    fn check(&self) -> Result<(), SandboxError> {
        for o in &self.objects {
            for f in &o.fields {
                if let Some(target) = f.points_at()
                    && self.object(target).is_none()
                {
                    return Err(SandboxError::Model(format!(
                        "{}.{} points at unknown object {target}",
                        o.name_singular, f.name
                    )));
                }
            }
        }
        Ok(())
    }

    /// Newer servers: noteTarget/taskTarget target relations become morph relations `target<Object>`.
    fn morph_note_task_targets(&mut self, created_at: &str) {
        for holder in ["noteTarget", "taskTarget"] {
            let parent = if holder == "noteTarget" { "note" } else { "task" };
            let Some(obj) = self.object(holder).cloned() else { continue };
            let targets: Vec<FieldMeta> = obj
                .fields
                .iter()
                .filter(|f| f.ftype == "RELATION" && f.points_at().is_some_and(|t| t != parent))
                .cloned()
                .collect();
            let all_targets: Vec<String> = targets.iter().filter_map(|f| f.points_at().map(str::to_string)).collect();
            let mut new_fields: Vec<FieldMeta> = obj.fields.iter().filter(|f| !targets.contains(f)).cloned().collect();
            for f in &targets {
                let target = f.points_at().unwrap_or_default().to_string();
                let name = format!("target{}", pascal(&target));
                let mut morphs = vec![RelationRef {
                    rtype: "MANY_TO_ONE".into(),
                    target: target.clone(),
                    target_field: obj.name_plural.clone(),
                }];
                morphs.extend(all_targets.iter().filter(|t| **t != target).map(|t| RelationRef {
                    rtype: "MANY_TO_ONE".into(),
                    target: t.clone(),
                    target_field: obj.name_plural.clone(),
                }));
                new_fields.push(FieldMeta {
                    id: standard_id("field", &format!("{holder}.{name}")),
                    name: name.clone(),
                    ftype: "MORPH_RELATION".into(),
                    relation: None,
                    morph_relations: Some(morphs),
                    settings: Some(json!({"onDelete": "CASCADE", "relationType": "MANY_TO_ONE",
                        "joinColumnName": format!("{name}Id")})),
                    created_at: created_at.to_string(),
                    updated_at: created_at.to_string(),
                    ..f.clone()
                });
            }
            if let Some(o) = self.object_mut(holder) {
                o.fields = new_fields;
                o.column_order = vec!["id".into(), "createdAt".into(), "updatedAt".into(), "deletedAt".into()];
            }
            for target in &all_targets {
                if let Some(t) = self.object_mut(target)
                    && let Some(inv) = t
                        .fields
                        .iter_mut()
                        .find(|f| f.relation.as_ref().is_some_and(|r| r.target == holder && r.rtype == "ONE_TO_MANY"))
                    && let Some(r) = inv.relation.as_mut()
                {
                    r.target_field = "target".into();
                }
            }
        }
    }

    /// Newer servers: attachment has a FILES field `file` (max one file).
    fn add_attachment_files_field(&mut self, created_at: &str) {
        if let Some(a) = self.object_mut("attachment") {
            a.fields.push(FieldMeta {
                id: standard_id("field", "attachment.file"),
                name: "file".into(),
                ftype: "FILES".into(),
                label: "File".into(),
                description: Some("Attachment file".into()),
                icon: Some("IconFile".into()),
                is_custom: false,
                is_active: true,
                is_system: false,
                is_nullable: true,
                is_unique: false,
                default_value: Value::Null,
                options: None,
                settings: Some(json!({"maxNumberOfValues": 1})),
                relation: None,
                morph_relations: None,
                created_at: created_at.to_string(),
                updated_at: created_at.to_string(),
            });
        }
    }

    /// The object of this singular name.
    pub fn object(&self, singular: &str) -> Option<&ObjectMeta> {
        self.objects.iter().find(|o| o.name_singular == singular)
    }

    /// The object of this singular name, mutable.
    pub fn object_mut(&mut self, singular: &str) -> Option<&mut ObjectMeta> {
        self.objects.iter_mut().find(|o| o.name_singular == singular)
    }

    /// The object of this plural name (REST route segment).
    pub fn object_by_plural(&self, plural: &str) -> Option<&ObjectMeta> {
        self.objects.iter().find(|o| o.name_plural == plural)
    }

    /// The object with this id.
    pub fn object_by_id(&self, id: &str) -> Option<&ObjectMeta> {
        self.objects.iter().find(|o| o.id == id)
    }

    /// The object and field with this field id.
    pub fn field_by_id(&self, id: &str) -> Option<(&ObjectMeta, &FieldMeta)> {
        self.objects.iter().find_map(|o| o.fields.iter().find(|f| f.id == id).map(|f| (o, f)))
    }

    /// Relation JSON as the REST metadata shows it (ids and names of both sides).
    pub fn relation_json(&self, obj: &ObjectMeta, field: &FieldMeta) -> Value {
        let Some(r) = &field.relation else { return Value::Null };
        let Some(target) = self.object(&r.target) else { return Value::Null };
        // A morph group ("target") is reported through its standard morph field with the smallest id.
        let target_field_id = target
            .field(&r.target_field)
            .or_else(|| {
                target
                    .fields
                    .iter()
                    .filter(|f| f.ftype == "MORPH_RELATION" && !f.is_custom)
                    .min_by(|a, b| a.id.cmp(&b.id))
            })
            .map(|f| f.id.clone());
        json!({
            "type": r.rtype,
            "targetObjectMetadata": {"id": target.id, "nameSingular": target.name_singular, "namePlural": target.name_plural},
            "targetFieldMetadata": {"id": target_field_id, "name": r.target_field},
            "sourceObjectMetadata": {"id": obj.id, "nameSingular": obj.name_singular, "namePlural": obj.name_plural},
            "sourceFieldMetadata": {"id": field.id, "name": field.name},
        })
    }

    /// A field as the REST metadata shows it (no isUnique, no settings).
    pub fn field_rest_json(&self, obj: &ObjectMeta, f: &FieldMeta) -> Value {
        json!({
            "id": f.id, "type": f.ftype, "name": f.name, "label": f.label, "description": f.description,
            "icon": f.icon, "isCustom": f.is_custom, "isActive": f.is_active, "isSystem": f.is_system,
            "isNullable": f.is_nullable, "createdAt": f.created_at, "updatedAt": f.updated_at,
            "defaultValue": f.default_value, "options": options_json(f), "relation": self.relation_json(obj, f),
        })
    }

    /// An object as the REST metadata shows it, with its fields.
    pub fn object_rest_json(&self, o: &ObjectMeta) -> Value {
        let fields: Vec<Value> = o.fields.iter().map(|f| self.field_rest_json(o, f)).collect();
        let mut v = self.object_header_json(o);
        if let Value::Object(m) = &mut v {
            m.insert("fields".into(), Value::Array(fields));
        }
        v
    }

    fn object_header_json(&self, o: &ObjectMeta) -> Value {
        let ident = |name: &Option<String>| name.as_ref().and_then(|n| o.field(n)).map(|f| f.id.clone());
        json!({
            "id": o.id, "nameSingular": o.name_singular, "namePlural": o.name_plural, "isCustom": o.is_custom,
            "isActive": o.is_active, "isSystem": o.is_system, "createdAt": o.created_at, "updatedAt": o.updated_at,
            "labelIdentifierFieldMetadataId": ident(&o.label_identifier),
            "imageIdentifierFieldMetadataId": ident(&o.image_identifier),
            "labelSingular": o.label_singular, "labelPlural": o.label_plural, "description": o.description,
            "icon": o.icon,
        })
    }

    /// A field with everything the `/metadata` GraphQL API can select (isUnique, settings, morphRelations…).
    pub fn field_graphql_json(&self, obj: &ObjectMeta, f: &FieldMeta) -> Value {
        let mut v = self.field_rest_json(obj, f);
        let morph = f.morph_relations.as_ref().map(|ms| {
            ms.iter()
                .map(|m| {
                    let target = self.object(&m.target);
                    json!({
                        "type": m.rtype,
                        "targetObjectMetadata": {"id": target.map(|t| t.id.clone()), "nameSingular": m.target,
                            "namePlural": target.map(|t| t.name_plural.clone())},
                        "targetFieldMetadata": {"id": target.and_then(|t| t.field(&m.target_field)).map(|f| f.id.clone()),
                            "name": m.target_field},
                        "sourceObjectMetadata": {"id": obj.id, "nameSingular": obj.name_singular, "namePlural": obj.name_plural},
                        "sourceFieldMetadata": {"id": f.id, "name": f.name},
                    })
                })
                .collect::<Vec<_>>()
        });
        if let Value::Object(m) = &mut v {
            m.insert("isUnique".into(), Value::Bool(f.is_unique));
            m.insert("settings".into(), f.settings.clone().unwrap_or(Value::Null));
            m.insert("morphRelations".into(), morph.map(Value::Array).unwrap_or(Value::Null));
            m.insert("objectMetadataId".into(), Value::String(obj.id.clone()));
            m.insert("isLabelSyncedWithName".into(), Value::Bool(false));
        }
        v
    }

    /// An object with everything the `/metadata` GraphQL API can select; `fields` is a plain list here.
    pub fn object_graphql_json(&self, o: &ObjectMeta) -> Value {
        let mut v = self.object_header_json(o);
        if let Value::Object(m) = &mut v {
            m.insert("fields".into(), Value::Array(o.fields.iter().map(|f| self.field_graphql_json(o, f)).collect()));
            m.insert("isRemote".into(), Value::Bool(false));
            m.insert("isSearchable".into(), Value::Bool(o.fields.iter().any(|f| f.ftype == "TS_VECTOR")));
            m.insert("isLabelSyncedWithName".into(), Value::Bool(false));
        }
        v
    }
}

/// Options as JSON (`null` for non-select fields).
pub fn options_json(f: &FieldMeta) -> Value {
    match &f.options {
        None => Value::Null,
        Some(opts) => Value::Array(
            opts.iter()
                .map(|o| {
                    let mut m = Map::new();
                    m.insert("id".into(), Value::String(o.id.clone()));
                    m.insert("color".into(), o.color.clone());
                    m.insert("label".into(), o.label.clone());
                    m.insert("value".into(), Value::String(o.value.clone()));
                    m.insert("position".into(), o.position.clone());
                    Value::Object(m)
                })
                .collect(),
        ),
    }
}

/// Body key order for objects the recording never showed a body of.
fn default_column_order() -> Vec<String> {
    ["id", "createdAt", "updatedAt", "deletedAt"].iter().map(|s| s.to_string()).collect()
}

/// `company` → `Company`, `ctrWidget` → `CtrWidget`.
pub fn pascal(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(first) => first.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_model_has_the_29_recorded_objects_and_their_uniques() {
        let s = Schema::standard("2026-01-01T00:00:00.000Z", TargetColumns::Plain, false).expect("model loads");
        assert_eq!(s.objects.len(), 29);
        let company = s.object_by_plural("companies").expect("companies");
        assert!(company.field("domainName").expect("domainName").is_unique);
        assert!(!company.field("id").expect("id").is_unique);
        let person = s.object("person").expect("person");
        assert_eq!(person.field("company").and_then(|f| f.join_column()).as_deref(), Some("companyId"));
        let stage = s.object("opportunity").and_then(|o| o.field("stage")).expect("stage");
        assert_eq!(stage.option_values(), vec!["NEW", "SCREENING", "MEETING", "PROPOSAL", "CUSTOMER"]);
        assert_eq!(stage.default_value, json!("'NEW'"));
    }

    #[test]
    fn body_keys_follow_recorded_order_and_hide_morph_columns_in_plain_mode() {
        let s = Schema::standard("2026-01-01T00:00:00.000Z", TargetColumns::Plain, false).expect("model loads");
        let a = s.object("attachment").expect("attachment");
        assert_eq!(
            a.body_keys(TargetColumns::Plain),
            vec![
                "id",
                "createdAt",
                "updatedAt",
                "deletedAt",
                "name",
                "fullPath",
                "fileCategory",
                "createdBy",
                "updatedBy"
            ]
        );
        let nt = s.object("noteTarget").expect("noteTarget");
        assert_eq!(
            nt.body_keys(TargetColumns::Plain),
            vec!["id", "createdAt", "updatedAt", "deletedAt", "noteId", "personId", "companyId", "opportunityId"]
        );
    }

    #[test]
    fn morph_mode_renames_note_target_columns() {
        let s = Schema::standard("2026-01-01T00:00:00.000Z", TargetColumns::Morph, false).expect("model loads");
        let nt = s.object("noteTarget").expect("noteTarget");
        let keys = nt.body_keys(TargetColumns::Morph);
        assert!(keys.contains(&"targetCompanyId".to_string()), "{keys:?}");
        assert!(keys.contains(&"noteId".to_string()));
        assert!(!keys.contains(&"companyId".to_string()));
    }
}
