/* Certificates for `kehu-admin init` and `kehu-admin cert`: a private CA and
 * a server certificate it signs, written with mbedTLS's x509 writer. */
#ifndef KEHU_CERT_H
#define KEHU_CERT_H

#include <stddef.h>

#include <mbedtls/x509_crt.h>

#include "status.h"

/* Creates an EC P-256 key and a self-signed CA certificate (10 years),
 * written as PEM to key_path (mode 0600) and crt_path (0644). */
int kehu_cert_make_ca(const char *key_path, const char *crt_path, const char *common_name,
                      kehu_error *err);

/* Creates an EC P-256 key and a server certificate (2 years) signed by the
 * CA in ca_key_path / ca_crt_path. hosts are DNS names or IP literals (IPv4
 * or IPv6); each becomes a dNSName or iPAddress subjectAltName entry, and
 * the first is the subject CN. */
int kehu_cert_make_server(const char *ca_key_path, const char *ca_crt_path,
                          const char *key_path, const char *crt_path,
                          const char *const *hosts, size_t nhosts, kehu_error *err);

/* 1 if crt carries an iPAddress subjectAltName equal to the IP literal ip
 * (IPv4 dotted or IPv6), 0 otherwise (also for a non-IP string). */
int kehu_cert_has_ip(const mbedtls_x509_crt *crt, const char *ip);

#endif
