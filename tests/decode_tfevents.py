#!/usr/bin/python3
"""Decodes a TensorBoard event file independently of vae's C++ writer, for tests/test_tensorboard.cpp.

Declares TensorBoard's own message layout (tensorflow/core/util/event.proto and
tensorflow/core/framework/summary.proto: Event, Summary, Summary.Value, Summary.Image, SessionLog)
with google.protobuf (Debian's python3-protobuf; no protoc-generated files), checks the TFRecord framing
(both masked CRC-32C of every record, computed here bit by bit), parses every Event with protobuf,
checks that protobuf serialises it back to the very same bytes, and prints the events as JSON on
stdout. Any framing or parsing problem: a message on stderr and exit status 1.

Usage: /usr/bin/python3 tests/decode_tfevents.py EVENT_FILE
"""
import json
import struct
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto


def field(message, name, number, kind, label=F.LABEL_OPTIONAL, type_name=None, oneof=None):
    entry = message.field.add(name=name, number=number, type=kind, label=label)
    if type_name:
        entry.type_name = type_name
    if oneof is not None:
        entry.oneof_index = oneof


def event_class():
    """The Event message class, built from a descriptor declared here."""
    file = descriptor_pb2.FileDescriptorProto(name="vae_test_tfevents.proto", package="tensorflow",
                                              syntax="proto3")
    summary = file.message_type.add(name="Summary")
    image = summary.nested_type.add(name="Image")
    field(image, "height", 1, F.TYPE_INT32)
    field(image, "width", 2, F.TYPE_INT32)
    field(image, "colorspace", 3, F.TYPE_INT32)
    field(image, "encoded_image_string", 4, F.TYPE_BYTES)
    value = summary.nested_type.add(name="Value")
    value.oneof_decl.add(name="value")
    field(value, "node_name", 7, F.TYPE_STRING)
    field(value, "tag", 1, F.TYPE_STRING)
    field(value, "simple_value", 2, F.TYPE_FLOAT, oneof=0)
    field(value, "obsolete_old_style_histogram", 3, F.TYPE_BYTES, oneof=0)
    field(value, "image", 4, F.TYPE_MESSAGE, type_name=".tensorflow.Summary.Image", oneof=0)
    field(summary, "value", 1, F.TYPE_MESSAGE, F.LABEL_REPEATED, ".tensorflow.Summary.Value")
    session_log = file.message_type.add(name="SessionLog")
    status = session_log.enum_type.add(name="SessionStatus")
    for number, name in enumerate(["STATUS_UNSPECIFIED", "START", "STOP", "CHECKPOINT"]):
        status.value.add(name=name, number=number)
    field(session_log, "status", 1, F.TYPE_ENUM, type_name=".tensorflow.SessionLog.SessionStatus")
    field(session_log, "checkpoint_path", 2, F.TYPE_STRING)
    field(session_log, "msg", 3, F.TYPE_STRING)
    event = file.message_type.add(name="Event")
    event.oneof_decl.add(name="what")
    field(event, "wall_time", 1, F.TYPE_DOUBLE)
    field(event, "step", 2, F.TYPE_INT64)
    field(event, "file_version", 3, F.TYPE_STRING, oneof=0)
    field(event, "graph_def", 4, F.TYPE_BYTES, oneof=0)
    field(event, "summary", 5, F.TYPE_MESSAGE, type_name=".tensorflow.Summary", oneof=0)
    field(event, "session_log", 7, F.TYPE_MESSAGE, type_name=".tensorflow.SessionLog", oneof=0)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    descriptor = pool.FindMessageTypeByName("tensorflow.Event")
    if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.21.x
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(pool).GetPrototype(descriptor)


def crc32c(data):
    """CRC-32C (Castagnoli), bitwise, reflected polynomial 0x82F63B78."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def records(data, path):
    """Yields the payload of every TFRecord, checking both CRCs."""
    offset = 0
    index = 0
    while offset < len(data):
        if offset + 12 > len(data):
            raise ValueError(f"{path}: record {index}: truncated header at byte {offset}")
        header = data[offset:offset + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[offset + 8:offset + 12])
        if length_crc != masked_crc32c(header):
            raise ValueError(f"{path}: record {index}: bad length CRC at byte {offset}")
        start = offset + 12
        if start + length + 4 > len(data):
            raise ValueError(f"{path}: record {index}: truncated payload at byte {start}")
        payload = data[start:start + length]
        (payload_crc,) = struct.unpack("<I", data[start + length:start + length + 4])
        if payload_crc != masked_crc32c(payload):
            raise ValueError(f"{path}: record {index}: bad payload CRC at byte {start}")
        yield payload
        offset = start + length + 4
        index += 1


def png_size(png):
    """(width, height) from a PNG's IHDR chunk, or None when it is not a PNG."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", png[16:24])


def to_json(event):
    out = {"wall_time": event.wall_time, "step": event.step}
    what = event.WhichOneof("what")
    if what == "file_version":
        out["file_version"] = event.file_version
    elif what == "summary":
        values = []
        for value in event.summary.value:
            entry = {"tag": value.tag}
            kind = value.WhichOneof("value")
            if kind == "simple_value":
                entry["simple_value"] = value.simple_value
            elif kind == "image":
                png = value.image.encoded_image_string
                size = png_size(png)
                entry["image"] = {
                    "height": value.image.height,
                    "width": value.image.width,
                    "colorspace": value.image.colorspace,
                    "png_bytes": len(png),
                    "png_signature": png[:8].hex(),
                    "png_width": size[0] if size else None,
                    "png_height": size[1] if size else None,
                }
            else:
                entry["kind"] = kind
            values.append(entry)
        out["values"] = values
    elif what == "session_log":
        status = event.session_log.DESCRIPTOR.fields_by_name["status"].enum_type
        out["session_log"] = {"status": status.values_by_number[event.session_log.status].name}
    else:
        out["what"] = what
    return out


def main():
    if len(sys.argv) != 2:
        print("usage: decode_tfevents.py EVENT_FILE", file=sys.stderr)
        return 2
    path = sys.argv[1]
    Event = event_class()
    with open(path, "rb") as file:
        data = file.read()
    events = []
    try:
        for index, payload in enumerate(records(data, path)):
            event = Event()
            event.ParseFromString(payload)
            if event.SerializeToString(deterministic=True) != payload:
                raise ValueError(f"{path}: record {index}: protobuf re-encodes the event differently "
                                 f"(unknown fields or non-canonical encoding)")
            events.append(to_json(event))
    except Exception as error:  # framing, CRC or protobuf parse errors
        print(f"decode_tfevents: {error}", file=sys.stderr)
        return 1
    json.dump(events, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
