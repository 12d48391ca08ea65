#!/usr/bin/env python3
"""Extract the standard data model of the recorded Twenty workspace into standard-model.json.

Facts only: every object and field as the recording shows them (01-metadata-objects.json for the REST view,
02-metadata-graphql-objects-fields.json for isUnique, settings and morphRelations), with the server-assigned ids
kept (a fresh sandbox workspace reuses them, so relation references and the id order of lists
behave as recorded) and timestamps dropped, relations named by object/field name, and the key order of
recorded REST record bodies (exchanges 24, 25, 28, 52, 71-75, 80) kept as each object's `columnOrder`.

Usage: python3 extract.py ../../../../shared/twenty-contract > standard-model.json
"""
import json
import sys
from pathlib import Path

corpus = Path(sys.argv[1] if len(sys.argv) > 1 else "../../../../shared/twenty-contract")
rest = json.loads((corpus / "01-metadata-objects.json").read_text())["response"]["body"]["data"]["objects"]
gql = json.loads((corpus / "02-metadata-graphql-objects-fields.json").read_text())["response"]["body"]["data"]["objects"]["edges"]
gql_fields = {}
for edge in gql:
    node = edge["node"]
    for fe in node["fields"]["edges"]:
        f = fe["node"]
        gql_fields[f["id"]] = f

id_to_field = {}
for o in rest:
    for f in o["fields"]:
        id_to_field[f["id"]] = (o["nameSingular"], f["name"])


def body_order(num, path):
    file = next(corpus.glob(f"{num}-*.json"))
    body = json.loads(file.read_text())["response"]["body"]
    for key in path:
        body = body[key]
    return [k for k in body.keys() if not k.startswith("ctr")]


column_orders = {
    "workspaceMember": body_order("24", ["data", "workspaceMembers", 0]),
    "company": body_order("25", ["data", "createCompany"]),
    "person": body_order("28", ["data", "createPerson"]),
    "opportunity": body_order("71", ["data", "createOpportunity"]),
    "task": body_order("72", ["data", "createTask"]),
    "taskTarget": body_order("73", ["data", "createTaskTarget"]),
    "note": body_order("74", ["data", "createNote"]),
    "noteTarget": body_order("75", ["data", "createNoteTargets", 0]),
    "attachment": body_order("80", ["data", "createAttachment"]),
    "timelineActivity": body_order("52", ["data", "company", "timelineActivities", 0]),
}

objects = []
for o in rest:
    assert not o["isCustom"] and o["isActive"]
    fields = []
    for f in o["fields"]:
        g = gql_fields[f["id"]]
        assert not f["isCustom"] and f["isActive"]
        out = {
            "id": f["id"],
            "name": f["name"],
            "type": f["type"],
            "label": f["label"],
            "description": f["description"],
            "icon": f["icon"],
            "isSystem": f["isSystem"],
            "isNullable": f["isNullable"],
            "isUnique": g["isUnique"],
            "defaultValue": f["defaultValue"],
        }
        if f["options"] is not None:
            out["options"] = [{k: opt[k] for k in ("id", "value", "label", "color", "position")} for opt in f["options"]]
        if g["settings"] is not None:
            out["settings"] = g["settings"]
        if f["relation"] is not None:
            r = f["relation"]
            out["relation"] = {
                "type": r["type"],
                "target": r["targetObjectMetadata"]["nameSingular"],
                "targetField": r["targetFieldMetadata"]["name"],
            }
        if g["morphRelations"] is not None:
            out["morphRelations"] = [
                {"type": m["type"], "target": m["targetObjectMetadata"]["nameSingular"],
                 "targetField": m["targetFieldMetadata"]["name"]}
                for m in g["morphRelations"]
            ]
        fields.append(out)
    label_id = o["labelIdentifierFieldMetadataId"]
    image_id = o["imageIdentifierFieldMetadataId"]
    objects.append({
        "id": o["id"],
        "nameSingular": o["nameSingular"],
        "namePlural": o["namePlural"],
        "labelSingular": o["labelSingular"],
        "labelPlural": o["labelPlural"],
        "description": o["description"],
        "icon": o["icon"],
        "isSystem": o["isSystem"],
        "labelIdentifier": id_to_field[label_id][1] if label_id else None,
        "imageIdentifier": id_to_field[image_id][1] if image_id else None,
        "columnOrder": column_orders.get(o["nameSingular"]),
        "fields": fields,
    })

json.dump({"source": "twenty-contract 01 + 02 (Twenty e0d44920133f, v1.17 line)", "objects": objects},
          sys.stdout, separators=(",", ":"), ensure_ascii=False)
sys.stdout.write("\n")
