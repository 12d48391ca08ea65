//! The workspace schema as discovered through the metadata API: objects, fields, types, select options,
//! relations with their join columns, unique fields, morph targets. Nothing here is hard-coded per object:
//! everything is read from `GET /rest/metadata/objects` and completed by the `/metadata` GraphQL query (exchange
//! 02) for what REST leaves out (`isUnique`, `settings.joinColumnName`, `morphRelations`).

use std::collections::HashMap;

use serde_json::Value;
use uuid::Uuid;

use crate::error::{ErrorKind, TwentyError};

/// A field type as Twenty names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum FieldType {
    Uuid,
    Text,
    Phones,
    Emails,
    DateTime,
    Date,
    Boolean,
    Number,
    Numeric,
    Links,
    Currency,
    FullName,
    Rating,
    Select,
    MultiSelect,
    Relation,
    MorphRelation,
    Position,
    Address,
    RawJson,
    RichText,
    RichTextV2,
    Actor,
    Array,
    TsVector,
    Files,
    /// A type this client does not know (newer server); kept verbatim.
    Other(String),
}

impl FieldType {
    /// Parses Twenty's type name (`"SELECT"`, `"RICH_TEXT_V2"`…).
    pub fn parse(name: &str) -> FieldType {
        match name {
            "UUID" => FieldType::Uuid,
            "TEXT" => FieldType::Text,
            "PHONES" => FieldType::Phones,
            "EMAILS" => FieldType::Emails,
            "DATE_TIME" => FieldType::DateTime,
            "DATE" => FieldType::Date,
            "BOOLEAN" => FieldType::Boolean,
            "NUMBER" => FieldType::Number,
            "NUMERIC" => FieldType::Numeric,
            "LINKS" => FieldType::Links,
            "CURRENCY" => FieldType::Currency,
            "FULL_NAME" => FieldType::FullName,
            "RATING" => FieldType::Rating,
            "SELECT" => FieldType::Select,
            "MULTI_SELECT" => FieldType::MultiSelect,
            "RELATION" => FieldType::Relation,
            "MORPH_RELATION" => FieldType::MorphRelation,
            "POSITION" => FieldType::Position,
            "ADDRESS" => FieldType::Address,
            "RAW_JSON" => FieldType::RawJson,
            "RICH_TEXT" => FieldType::RichText,
            "RICH_TEXT_V2" => FieldType::RichTextV2,
            "ACTOR" => FieldType::Actor,
            "ARRAY" => FieldType::Array,
            "TS_VECTOR" => FieldType::TsVector,
            "FILES" => FieldType::Files,
            other => FieldType::Other(other.to_owned()),
        }
    }

    /// Twenty's name for the type.
    pub fn as_str(&self) -> &str {
        match self {
            FieldType::Uuid => "UUID",
            FieldType::Text => "TEXT",
            FieldType::Phones => "PHONES",
            FieldType::Emails => "EMAILS",
            FieldType::DateTime => "DATE_TIME",
            FieldType::Date => "DATE",
            FieldType::Boolean => "BOOLEAN",
            FieldType::Number => "NUMBER",
            FieldType::Numeric => "NUMERIC",
            FieldType::Links => "LINKS",
            FieldType::Currency => "CURRENCY",
            FieldType::FullName => "FULL_NAME",
            FieldType::Rating => "RATING",
            FieldType::Select => "SELECT",
            FieldType::MultiSelect => "MULTI_SELECT",
            FieldType::Relation => "RELATION",
            FieldType::MorphRelation => "MORPH_RELATION",
            FieldType::Position => "POSITION",
            FieldType::Address => "ADDRESS",
            FieldType::RawJson => "RAW_JSON",
            FieldType::RichText => "RICH_TEXT",
            FieldType::RichTextV2 => "RICH_TEXT_V2",
            FieldType::Actor => "ACTOR",
            FieldType::Array => "ARRAY",
            FieldType::TsVector => "TS_VECTOR",
            FieldType::Files => "FILES",
            FieldType::Other(s) => s,
        }
    }

    /// The composite kind, for types whose values are objects of sub-fields.
    pub fn composite(&self) -> Option<CompositeKind> {
        Some(match self {
            FieldType::FullName => CompositeKind::FullName,
            FieldType::Emails => CompositeKind::Emails,
            FieldType::Phones => CompositeKind::Phones,
            FieldType::Links => CompositeKind::Links,
            FieldType::Currency => CompositeKind::Currency,
            FieldType::Address => CompositeKind::Address,
            FieldType::Actor => CompositeKind::Actor,
            FieldType::RichTextV2 => CompositeKind::RichTextV2,
            _ => return None,
        })
    }
}

/// Composite field kinds. Their sub-field names belong to the type (Twenty's `twenty-shared` composite
/// definitions), not to the workspace, so they are the one thing the metadata does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum CompositeKind {
    FullName,
    Emails,
    Phones,
    Links,
    Currency,
    Address,
    Actor,
    RichTextV2,
}

impl CompositeKind {
    /// The sub-field names of the kind.
    pub fn subfields(self) -> &'static [&'static str] {
        match self {
            CompositeKind::FullName => &["firstName", "lastName"],
            CompositeKind::Emails => &["primaryEmail", "additionalEmails"],
            CompositeKind::Phones => {
                &["primaryPhoneNumber", "primaryPhoneCountryCode", "primaryPhoneCallingCode", "additionalPhones"]
            }
            CompositeKind::Links => &["primaryLinkUrl", "primaryLinkLabel", "secondaryLinks"],
            CompositeKind::Currency => &["amountMicros", "currencyCode"],
            CompositeKind::Address => &[
                "addressStreet1",
                "addressStreet2",
                "addressCity",
                "addressState",
                "addressCountry",
                "addressPostcode",
                "addressLat",
                "addressLng",
            ],
            CompositeKind::Actor => &["source", "name", "workspaceMemberId", "context"],
            CompositeKind::RichTextV2 => &["blocknote", "markdown"],
        }
    }

    /// The sub-field a unique constraint on this kind applies to (`isIncludedInUniqueConstraint`).
    pub fn unique_subfield(self) -> Option<&'static str> {
        match self {
            CompositeKind::Emails => Some("primaryEmail"),
            CompositeKind::Links => Some("primaryLinkUrl"),
            CompositeKind::Phones => Some("primaryPhoneNumber"),
            _ => None,
        }
    }
}

/// A SELECT / MULTI_SELECT option.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectOption {
    /// The option's id (kept by full-list replaces).
    pub id: Option<String>,
    /// The stored value (UPPER_SNAKE_CASE).
    pub value: String,
    /// The label shown to users.
    pub label: String,
    /// The colour name.
    pub color: Option<String>,
    /// The position in the list.
    pub position: Option<i64>,
}

/// The cardinality of a relation as seen from the field's own object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelationKind {
    /// This object holds the join column.
    ManyToOne,
    /// The other object holds the join column.
    OneToMany,
    /// Another kind (kept verbatim).
    Other(String),
}

impl RelationKind {
    fn parse(s: &str) -> RelationKind {
        match s {
            "MANY_TO_ONE" => RelationKind::ManyToOne,
            "ONE_TO_MANY" => RelationKind::OneToMany,
            other => RelationKind::Other(other.to_owned()),
        }
    }
}

/// A relation field's target.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationMeta {
    /// Cardinality.
    pub kind: RelationKind,
    /// Target object, singular name.
    pub target_object: String,
    /// Target object, plural name.
    pub target_plural: String,
    /// The inverse field on the target, when known.
    pub target_field: Option<String>,
}

/// One field of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldMeta {
    /// Metadata id.
    pub id: Uuid,
    /// API name.
    pub name: String,
    /// Label.
    pub label: String,
    /// Type.
    pub field_type: FieldType,
    /// Created by a user (custom) rather than standard.
    pub is_custom: bool,
    /// A system field (id, position, searchVector…).
    pub is_system: bool,
    /// Active.
    pub is_active: bool,
    /// Nullable.
    pub is_nullable: bool,
    /// Unique (from the `/metadata` GraphQL query; `false` when only REST was available).
    pub is_unique: bool,
    /// Default value as Twenty stores it (SELECT defaults are SQL-quoted, e.g. `"'NEW'"`).
    pub default_value: Value,
    /// SELECT / MULTI_SELECT options, in position order.
    pub options: Vec<SelectOption>,
    /// The relation's target for RELATION fields.
    pub relation: Option<RelationMeta>,
    /// The targets of a MORPH_RELATION field (the first is the one this field points at).
    pub morph_targets: Vec<RelationMeta>,
    /// The column that holds the related id (`companyId`, `targetCompanyId`…) for MANY_TO_ONE relations and
    /// morph relations.
    pub join_column: Option<String>,
    /// `settings` as the server sent it (`null` when only REST was available).
    pub settings: Value,
}

impl FieldMeta {
    /// Whether `value` is one of the field's option values.
    pub fn has_option(&self, value: &str) -> bool {
        self.options.iter().any(|o| o.value == value)
    }

    /// The option values, comma-separated (for messages).
    pub fn option_values(&self) -> String {
        self.options.iter().map(|o| o.value.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// The object this field points at (singular), for RELATION and MORPH_RELATION fields.
    pub fn points_at(&self) -> Option<&str> {
        if let Some(r) = &self.relation {
            return Some(&r.target_object);
        }
        self.morph_targets.first().map(|t| t.target_object.as_str())
    }
}

/// One object of the workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectMeta {
    /// Metadata id.
    pub id: Uuid,
    /// Singular API name (`company`).
    pub name_singular: String,
    /// Plural API name, used in REST paths (`companies`).
    pub name_plural: String,
    /// Singular label.
    pub label_singular: String,
    /// Plural label.
    pub label_plural: String,
    /// Custom object.
    pub is_custom: bool,
    /// System object.
    pub is_system: bool,
    /// Active.
    pub is_active: bool,
    /// Fields.
    pub fields: Vec<FieldMeta>,
}

/// How an object links to another object through a join column (note/task targets, attachments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkColumn {
    /// The relation field (`company`, `targetCompany`).
    pub field: String,
    /// The column to write the related id into (`companyId`, `targetCompanyId`).
    pub column: String,
    /// Whether the field is a MORPH_RELATION (newer servers' `target*` columns).
    pub morph: bool,
}

impl ObjectMeta {
    /// The field named `name` (API name).
    pub fn field(&self, name: &str) -> Option<&FieldMeta> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The field whose join column is `column` (`companyId` → `company`).
    pub fn field_by_join_column(&self, column: &str) -> Option<&FieldMeta> {
        self.fields.iter().find(|f| f.join_column.as_deref() == Some(column))
    }

    /// Fields with `isUnique`.
    pub fn unique_fields(&self) -> impl Iterator<Item = &FieldMeta> {
        self.fields.iter().filter(|f| f.is_unique)
    }

    /// Every MANY_TO_ONE relation (plain or morph) with its join column.
    pub fn join_columns(&self) -> impl Iterator<Item = &FieldMeta> {
        self.fields.iter().filter(|f| f.join_column.is_some())
    }

    /// The column through which this object points at `target` (singular name): `noteTarget` → `company` is
    /// `companyId` on the recorded build and `targetCompanyId` on newer ones. Prefers a MORPH_RELATION whose
    /// own target is `target`, then a plain MANY_TO_ONE relation.
    pub fn link_column(&self, target: &str) -> Option<LinkColumn> {
        let morph = self.fields.iter().find(|f| {
            f.field_type == FieldType::MorphRelation
                && f.join_column.is_some()
                && f.morph_targets.first().is_some_and(|t| t.target_object == target)
        });
        if let Some(f) = morph {
            return Some(LinkColumn { field: f.name.clone(), column: f.join_column.clone()?, morph: true });
        }
        self.fields
            .iter()
            .find(|f| {
                f.field_type == FieldType::Relation
                    && f.relation
                        .as_ref()
                        .is_some_and(|r| r.kind == RelationKind::ManyToOne && r.target_object == target)
            })
            .and_then(|f| Some(LinkColumn { field: f.name.clone(), column: f.join_column.clone()?, morph: false }))
    }

    /// The first FILES field, if the object has one (newer attachment model).
    pub fn files_field(&self) -> Option<&FieldMeta> {
        self.fields.iter().find(|f| f.field_type == FieldType::Files)
    }
}

/// Where the schema details came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaDetail {
    /// REST metadata completed by the `/metadata` GraphQL query.
    Full,
    /// Only REST metadata: `is_unique` is always false and join columns are inferred as `<field>Id`.
    RestOnly,
}

/// The workspace schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// All objects, in the server's order.
    pub objects: Vec<ObjectMeta>,
    /// Where the details came from.
    pub detail: SchemaDetail,
    index: HashMap<String, usize>,
}

impl Schema {
    /// Builds a schema from objects.
    pub fn new(objects: Vec<ObjectMeta>, detail: SchemaDetail) -> Schema {
        let mut index = HashMap::new();
        for (i, o) in objects.iter().enumerate() {
            index.insert(o.name_plural.clone(), i);
            index.insert(o.name_singular.clone(), i);
        }
        Schema { objects, detail, index }
    }

    /// The object named `name`, singular or plural.
    pub fn object(&self, name: &str) -> Option<&ObjectMeta> {
        self.index.get(name).map(|&i| &self.objects[i])
    }

    /// The object named `name` or an [`ErrorKind::UnknownObject`] error naming the closest candidates.
    pub fn require(&self, name: &str, operation: &str) -> Result<&ObjectMeta, TwentyError> {
        self.object(name).ok_or_else(|| {
            let lower = name.to_ascii_lowercase();
            let close: Vec<&str> = self
                .objects
                .iter()
                .filter(|o| {
                    let s = o.name_singular.to_ascii_lowercase();
                    s.contains(&lower) || lower.contains(&s)
                })
                .map(|o| o.name_singular.as_str())
                .take(5)
                .collect();
            let hint = if close.is_empty() {
                "create the object first (create_object) or check the name against the workspace's data model"
                    .to_owned()
            } else {
                format!("did you mean {}?", close.join(", "))
            };
            TwentyError::new(ErrorKind::UnknownObject, operation, format!("the workspace has no object \"{name}\""))
                .with_object(name)
                .with_hint(hint)
        })
    }

    /// The object whose metadata id is `id`.
    pub fn object_by_id(&self, id: Uuid) -> Option<&ObjectMeta> {
        self.objects.iter().find(|o| o.id == id)
    }

    /// The field whose metadata id is `id`, with its object.
    pub fn field_by_id(&self, id: Uuid) -> Option<(&ObjectMeta, &FieldMeta)> {
        self.objects.iter().find_map(|o| o.fields.iter().find(|f| f.id == id).map(|f| (o, f)))
    }

    /// Shortcut for [`ObjectMeta::link_column`].
    pub fn link_column(&self, owner: &str, target: &str) -> Option<LinkColumn> {
        self.object(owner)?.link_column(target)
    }
}

// ----------------------------------------------------------------------------------------------------------
// Parsing

fn s(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn b(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn uuid_of(v: &Value, key: &str) -> Option<Uuid> {
    v.get(key).and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok())
}

fn parse_relation(v: &Value) -> Option<RelationMeta> {
    if !v.is_object() {
        return None;
    }
    let target = v.get("targetObjectMetadata")?;
    Some(RelationMeta {
        kind: RelationKind::parse(v.get("type").and_then(Value::as_str).unwrap_or("")),
        target_object: s(target, "nameSingular"),
        target_plural: s(target, "namePlural"),
        target_field: v
            .get("targetFieldMetadata")
            .and_then(|t| t.get("name"))
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

fn parse_options(v: &Value) -> Vec<SelectOption> {
    let mut options: Vec<SelectOption> = v
        .as_array()
        .map(|a| {
            a.iter()
                .map(|o| SelectOption {
                    id: o.get("id").and_then(Value::as_str).map(str::to_owned),
                    value: s(o, "value"),
                    label: s(o, "label"),
                    color: o.get("color").and_then(Value::as_str).map(str::to_owned),
                    position: o.get("position").and_then(Value::as_i64),
                })
                .collect()
        })
        .unwrap_or_default();
    options.sort_by_key(|o| o.position.unwrap_or(i64::MAX));
    options
}

/// Parses one field as REST metadata returns it (also `createOneField` / `updateOneField` answers).
pub(crate) fn parse_rest_field(v: &Value) -> Option<FieldMeta> {
    let field_type = FieldType::parse(v.get("type")?.as_str()?);
    let name = s(v, "name");
    let relation = v.get("relation").and_then(parse_relation);
    let join_column = match (&field_type, &relation) {
        (FieldType::Relation, Some(r)) if r.kind == RelationKind::ManyToOne => Some(format!("{name}Id")),
        (FieldType::MorphRelation, _) => Some(format!("{name}Id")),
        _ => None,
    };
    let morph_targets = if field_type == FieldType::MorphRelation { infer_morph_target(&name) } else { Vec::new() };
    Some(FieldMeta {
        id: uuid_of(v, "id")?,
        label: s(v, "label"),
        field_type,
        is_custom: b(v, "isCustom"),
        is_system: b(v, "isSystem"),
        is_active: v.get("isActive").and_then(Value::as_bool).unwrap_or(true),
        is_nullable: b(v, "isNullable"),
        is_unique: b(v, "isUnique"),
        default_value: v.get("defaultValue").cloned().unwrap_or(Value::Null),
        options: parse_options(v.get("options").unwrap_or(&Value::Null)),
        relation,
        morph_targets,
        join_column,
        settings: v.get("settings").cloned().unwrap_or(Value::Null),
        name,
    })
}

/// Without `morphRelations`, a morph field `targetCompany` is taken to point at `company`.
fn infer_morph_target(name: &str) -> Vec<RelationMeta> {
    let Some(rest) = name.strip_prefix("target") else { return Vec::new() };
    let mut chars = rest.chars();
    let Some(first) = chars.next() else { return Vec::new() };
    let singular: String = first.to_lowercase().chain(chars).collect();
    vec![RelationMeta {
        kind: RelationKind::ManyToOne,
        target_object: singular,
        target_plural: String::new(),
        target_field: None,
    }]
}

/// Parses one object as REST metadata returns it.
pub(crate) fn parse_rest_object(v: &Value) -> Option<ObjectMeta> {
    let fields = v.get("fields").and_then(Value::as_array).map(|a| a.iter().filter_map(parse_rest_field).collect());
    Some(ObjectMeta {
        id: uuid_of(v, "id")?,
        name_singular: s(v, "nameSingular"),
        name_plural: s(v, "namePlural"),
        label_singular: s(v, "labelSingular"),
        label_plural: s(v, "labelPlural"),
        is_custom: b(v, "isCustom"),
        is_system: b(v, "isSystem"),
        is_active: v.get("isActive").and_then(Value::as_bool).unwrap_or(true),
        fields: fields.unwrap_or_default(),
    })
}

/// Parses the `GET /rest/metadata/objects` answer.
pub(crate) fn parse_rest_objects(body: &Value) -> Option<Vec<ObjectMeta>> {
    let objects = body.get("data")?.get("objects")?.as_array()?;
    Some(objects.iter().filter_map(parse_rest_object).collect())
}

/// Completes REST metadata with the `/metadata` GraphQL answer (exchange 02): `isUnique`, `settings`,
/// `joinColumnName`, `morphRelations`. Fields are matched by id.
pub(crate) fn merge_graphql_details(objects: &mut [ObjectMeta], body: &Value) -> bool {
    let Some(edges) = body.pointer("/data/objects/edges").and_then(Value::as_array) else { return false };
    let mut details: HashMap<Uuid, &Value> = HashMap::new();
    for edge in edges {
        let Some(fields) = edge.pointer("/node/fields/edges").and_then(Value::as_array) else { continue };
        for f in fields {
            if let Some(node) = f.get("node")
                && let Some(id) = uuid_of(node, "id")
            {
                details.insert(id, node);
            }
        }
    }
    if details.is_empty() {
        return false;
    }
    for object in objects.iter_mut() {
        for field in object.fields.iter_mut() {
            let Some(d) = details.get(&field.id) else { continue };
            field.is_unique = b(d, "isUnique");
            if let Some(settings) = d.get("settings") {
                field.settings = settings.clone();
                if let Some(col) = settings.get("joinColumnName").and_then(Value::as_str) {
                    field.join_column = Some(col.to_owned());
                }
            }
            if let Some(morphs) = d.get("morphRelations").and_then(Value::as_array) {
                let mut targets: Vec<RelationMeta> = morphs.iter().filter_map(parse_relation).collect();
                // The morph field `targetCompany` points at `company`: put its own target first.
                if let Some(pos) = targets.iter().position(|t| {
                    let mut c = t.target_object.chars();
                    c.next().is_some_and(|first| field.name == format!("target{}{}", first.to_uppercase(), c.as_str()))
                }) {
                    let own = targets.remove(pos);
                    targets.insert(0, own);
                }
                if !targets.is_empty() {
                    field.morph_targets = targets;
                }
            }
            if field.relation.is_none()
                && let Some(r) = d.get("relation").and_then(parse_relation)
            {
                field.relation = Some(r);
            }
        }
    }
    true
}

/// The `/metadata` GraphQL query of exchange 02.
pub(crate) const METADATA_DETAILS_QUERY: &str = "query ObjectsWithFieldDetails {
  objects(paging: {first: 1000}) {
    edges { node {
      id nameSingular namePlural labelSingular labelPlural isCustom isSystem isActive
      fields(paging: {first: 1000}) { edges { node {
        id name label type isCustom isSystem isActive isNullable isUnique defaultValue options settings
        relation { type targetObjectMetadata { nameSingular namePlural } targetFieldMetadata { name } }
        morphRelations { type targetObjectMetadata { nameSingular namePlural } targetFieldMetadata { name } }
      } } }
    } }
  }
}";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture() -> Vec<ObjectMeta> {
        let rest = json!({"data": {"objects": [
            {"id": "3e30d829-122d-4b0a-8147-856704f04812", "nameSingular": "company", "namePlural": "companies",
             "labelSingular": "Company", "labelPlural": "Companies", "isCustom": false, "isActive": true, "isSystem": false,
             "fields": [
                {"id": "0a28d691-b04c-4c47-9819-375b0220ff8f", "type": "LINKS", "name": "domainName", "label": "Domain",
                 "isNullable": true, "options": null, "relation": null},
                {"id": "4b424e71-6b82-4f38-aded-f01823a4ac5a", "type": "RELATION", "name": "accountOwner", "label": "Owner",
                 "relation": {"type": "MANY_TO_ONE", "targetObjectMetadata": {"nameSingular": "workspaceMember", "namePlural": "workspaceMembers"}}}
             ]},
            {"id": "763d708c-b720-4d01-89a0-8da9914203b1", "nameSingular": "attachment", "namePlural": "attachments",
             "fields": [
                {"id": "96742e9e-0883-4f2c-b4a8-2f019188d115", "type": "MORPH_RELATION", "name": "targetCompany", "label": "Company", "relation": null},
                {"id": "b4fd8764-e0e5-4dc9-b583-3ce4c4650806", "type": "MORPH_RELATION", "name": "targetPerson", "label": "Person", "relation": null},
                {"id": "a9000000-0000-4000-8000-000000000001", "type": "SELECT", "name": "fileCategory", "label": "Cat",
                 "options": [{"id": "o2", "value": "IMAGE", "label": "Image", "position": 1}, {"id": "o1", "value": "ARCHIVE", "label": "Archive", "position": 0}]}
             ]},
            {"id": "3f41f90a-09ef-4258-9308-a0492ca68ea6", "nameSingular": "noteTarget", "namePlural": "noteTargets",
             "fields": [
                {"id": "6cb1acdd-0445-4741-9279-08c65936d024", "type": "RELATION", "name": "company", "label": "Company",
                 "relation": {"type": "MANY_TO_ONE", "targetObjectMetadata": {"nameSingular": "company", "namePlural": "companies"}}}
             ]}
        ]}});
        parse_rest_objects(&rest).unwrap()
    }

    #[test]
    fn rest_only_infers_join_columns() {
        let schema = Schema::new(fixture(), SchemaDetail::RestOnly);
        assert_eq!(schema.object("companies").unwrap().name_singular, "company");
        let company = schema.object("company").unwrap();
        assert_eq!(company.field("accountOwner").unwrap().join_column.as_deref(), Some("accountOwnerId"));
        assert_eq!(schema.link_column("noteTarget", "company").unwrap().column, "companyId");
        let att = schema.link_column("attachment", "company").unwrap();
        assert_eq!((att.column.as_str(), att.morph), ("targetCompanyId", true));
        let cat = schema.object("attachment").unwrap().field("fileCategory").unwrap();
        assert_eq!(cat.option_values(), "ARCHIVE, IMAGE");
        assert!(schema.require("compny", "x").is_err());
    }

    #[test]
    fn graphql_details_complete_rest() {
        let mut objects = fixture();
        let gql = json!({"data": {"objects": {"edges": [{"node": {"fields": {"edges": [
            {"node": {"id": "0a28d691-b04c-4c47-9819-375b0220ff8f", "isUnique": true, "settings": {"maxNumberOfValues": 1}}},
            {"node": {"id": "b4fd8764-e0e5-4dc9-b583-3ce4c4650806", "isUnique": false,
              "settings": {"joinColumnName": "targetPersonIdX"},
              "morphRelations": [
                {"type": "MANY_TO_ONE", "targetObjectMetadata": {"nameSingular": "task", "namePlural": "tasks"}},
                {"type": "MANY_TO_ONE", "targetObjectMetadata": {"nameSingular": "person", "namePlural": "people"}}]}}
        ]}}}]}}});
        assert!(merge_graphql_details(&mut objects, &gql));
        let schema = Schema::new(objects, SchemaDetail::Full);
        assert!(schema.object("company").unwrap().field("domainName").unwrap().is_unique);
        let link = schema.link_column("attachment", "person").unwrap();
        assert_eq!(link.column, "targetPersonIdX");
        assert_eq!(schema.object("attachment").unwrap().field("targetPerson").unwrap().points_at(), Some("person"));
    }

    /// The recorded exchanges 01 and 02 (copied into the sandbox's fixtures) read into the typed schema.
    #[test]
    fn recorded_metadata_reads_into_the_schema() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../ferry-twenty-sandbox/tests/fixtures/twenty-contract");
        let read = |name: &str| -> Value {
            let text = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            let exchange: Value = serde_json::from_str(&text).unwrap();
            exchange["response"]["body"].clone()
        };
        let mut objects = parse_rest_objects(&read("01-metadata-objects.json")).unwrap();
        assert_eq!(objects.len(), 29);
        assert!(merge_graphql_details(&mut objects, &read("02-metadata-graphql-objects-fields.json")));
        let schema = Schema::new(objects, SchemaDetail::Full);
        let company = schema.object("companies").unwrap();
        let domain = company.field("domainName").unwrap();
        assert!(domain.is_unique);
        assert_eq!(domain.field_type.composite(), Some(CompositeKind::Links));
        assert!(schema.object("person").unwrap().field("emails").unwrap().is_unique);
        assert!(!company.field("id").unwrap().is_unique);
        let stage = schema.object("opportunity").unwrap().field("stage").unwrap();
        assert_eq!(stage.option_values(), "NEW, SCREENING, MEETING, PROPOSAL, CUSTOMER");
        assert_eq!(stage.default_value, Value::String("'NEW'".into()));
        let owner = company.field("accountOwner").unwrap();
        assert_eq!(owner.join_column.as_deref(), Some("accountOwnerId"));
        assert_eq!(owner.points_at(), Some("workspaceMember"));
        let nt = schema.link_column("noteTarget", "company").unwrap();
        assert_eq!((nt.column.as_str(), nt.morph), ("companyId", false));
        assert_eq!(schema.link_column("taskTarget", "person").unwrap().column, "personId");
        for (target, column) in [("company", "targetCompanyId"), ("person", "targetPersonId"), ("note", "targetNoteId")]
        {
            let l = schema.link_column("attachment", target).unwrap();
            assert_eq!((l.column.as_str(), l.morph), (column, true), "{target}");
        }
        assert!(schema.object("attachment").unwrap().files_field().is_none());
        assert!(schema.object("attachment").unwrap().field("fullPath").is_some());
    }
}
