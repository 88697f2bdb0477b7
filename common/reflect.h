/* Reading and writing protobuf-c message fields by name, so one piece of
 * code serves every record kind (validation, merging, JSON). Messages
 * handled here must own their memory with the default allocator
 * (kehu_msg_copy makes such a copy). */
#ifndef KEHU_REFLECT_H
#define KEHU_REFLECT_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

/* A deep copy using malloc, freed with protobuf_c_message_free_unpacked(m, NULL). */
ProtobufCMessage *kehu_msg_copy(const ProtobufCMessage *m);
/* base overlaid with the fields set in changes (a repeated field that is
 * set in changes replaces base's); both unchanged; NULL on failure. */
ProtobufCMessage *kehu_msg_merge(const ProtobufCMessage *base, const ProtobufCMessage *changes);

const ProtobufCFieldDescriptor *kehu_msg_field(const ProtobufCMessage *m, const char *name);
/* NULL when unset or no such string field. */
const char *kehu_msg_get_string(const ProtobufCMessage *m, const char *name);
/* Replaces a string field (NULL or "" unsets it). 0 or -1. */
int kehu_msg_set_string(ProtobufCMessage *m, const char *name, const char *value)
    __attribute__((warn_unused_result));
/* Integer fields (int64, uint32, bool): 1 when set, with *out. */
int kehu_msg_get_int(const ProtobufCMessage *m, const char *name, int64_t *out);
int kehu_msg_set_int(ProtobufCMessage *m, const char *name, int64_t value)
    __attribute__((warn_unused_result));
void kehu_msg_clear(ProtobufCMessage *m, const char *name);
/* Unsets every string field that is "" (how a client says "clear it"). */
void kehu_msg_drop_empty_strings(ProtobufCMessage *m);

#endif
