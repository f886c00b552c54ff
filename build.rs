//! Compiles `proto/` without `protoc`: protox parses the .proto files, prost generates the Rust types, and the same
//! descriptors are written as a compact JSON schema that the browser's codec (`static/js/proto.js`) reads, so the
//! .proto file is the only source of truth for both sides.

use std::{env, fs, path::PathBuf};

use prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorSet,
    field_descriptor_proto::{Label, Type},
};
use serde_json::{Map, Value, json};

const PROTO: &str = "proto/rehearse/v1/realtime.proto";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    // espeak-ng (inside piper-rs) needs libsonic but does not link it: link Debian's static copy, so the binary
    // does not depend on libsonic0 at run time.
    println!("cargo:rustc-link-lib=static=sonic");
    println!("cargo:rustc-link-search=native=/usr/lib/x86_64-linux-gnu");
    let fds = protox::compile([PROTO], ["proto"])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out.join("realtime.schema.json"),
        serde_json::to_string(&schema(&fds))?,
    )?;
    // BTreeMap keeps map fields in key order, so an encoding is deterministic and comparable with the browser's.
    prost_build::Config::new()
        .btree_map(["."])
        .compile_fds(fds)?;
    Ok(())
}

fn schema(fds: &FileDescriptorSet) -> Value {
    let mut messages = Map::new();
    let mut enums = Map::new();
    for file in &fds.file {
        let package = file.package();
        for e in &file.enum_type {
            add_enum(&mut enums, package, e);
        }
        for m in &file.message_type {
            add_message(&mut messages, &mut enums, package, m);
        }
    }
    json!({ "messages": messages, "enums": enums })
}

fn add_enum(enums: &mut Map<String, Value>, scope: &str, e: &EnumDescriptorProto) {
    let values: Map<String, Value> = e
        .value
        .iter()
        .map(|v| (v.name().to_string(), json!(v.number())))
        .collect();
    enums.insert(format!("{scope}.{}", e.name()), Value::Object(values));
}

fn add_message(
    messages: &mut Map<String, Value>,
    enums: &mut Map<String, Value>,
    scope: &str,
    m: &DescriptorProto,
) {
    let full = format!("{scope}.{}", m.name());
    for e in &m.enum_type {
        add_enum(enums, &full, e);
    }
    for nested in &m.nested_type {
        add_message(messages, enums, &full, nested);
    }
    let fields: Vec<Value> = m.field.iter().map(|f| field(m, f)).collect();
    let is_map_entry = m.options.as_ref().is_some_and(|o| o.map_entry());
    messages.insert(full, json!({ "fields": fields, "mapEntry": is_map_entry }));
}

fn field(m: &DescriptorProto, f: &FieldDescriptorProto) -> Value {
    let kind = match f.r#type() {
        Type::Double => "double",
        Type::Float => "float",
        Type::Int64 => "int64",
        Type::Uint64 => "uint64",
        Type::Int32 => "int32",
        Type::Fixed64 => "fixed64",
        Type::Fixed32 => "fixed32",
        Type::Bool => "bool",
        Type::String => "string",
        Type::Group => panic!("proto groups are not supported"),
        Type::Message => "message",
        Type::Bytes => "bytes",
        Type::Uint32 => "uint32",
        Type::Enum => "enum",
        Type::Sfixed32 => "sfixed32",
        Type::Sfixed64 => "sfixed64",
        Type::Sint32 => "sint32",
        Type::Sint64 => "sint64",
    };
    // proto3 `optional` fields sit in a synthetic oneof; only real oneofs are reported.
    let oneof = f
        .oneof_index
        .filter(|_| !f.proto3_optional())
        .map(|i| m.oneof_decl[i as usize].name().to_string());
    json!({
        "name": f.json_name(),
        "number": f.number(),
        "type": kind,
        "ref": f.type_name().trim_start_matches('.'),
        "repeated": f.label() == Label::Repeated,
        "oneof": oneof,
    })
}
