/* SPDX-License-Identifier: ISC */
/*
 * tlsload.h: OpenSSL loaded at run time (make TLS_LINK=dlopen, the
 * default). sock is not linked with libssl and libcrypto, so that an
 * invocation without --tls pays nothing for them at start-up: neither the
 * dynamic loader's relocations nor the memory. tls_load opens libssl.so.3
 * (which brings libcrypto.so.3) when --tls is used, and fills tls_api with
 * the functions tls.c calls; the macros below turn each call in tls.c into
 * a call through tls_api. The pointers' types are taken from OpenSSL's
 * own declarations, so the compiler checks every call as before.
 *
 * Include it in tls.c after the OpenSSL headers. A function tls.c starts
 * to call must be added to both lists below: the build fails until it is
 * (an undefined reference, since the libraries are not linked).
 */
#ifndef TLSLOAD_H
#define TLSLOAD_H

#include <stddef.h>

/*
 * Make OpenSSL usable, once, before anything of it is called (a build
 * with TLS_LINK=dlopen opens libssl.so.3 here; other builds have nothing
 * to do). Returns 0, or -1 with why naming the library and the reason.
 */
int	tls_load(char *why, size_t whylen);

#ifdef TLS_DLOPEN

/* Every OpenSSL function tls.c calls, once. */
#define TLS_API(X) \
	X(BIO_ADDR_family) \
	X(BIO_ADDR_free) \
	X(BIO_ADDR_new) \
	X(BIO_ADDR_rawaddress) \
	X(BIO_ADDR_rawmake) \
	X(BIO_ADDR_rawport) \
	X(BIO_ctrl) \
	X(BIO_free) \
	X(BIO_new) \
	X(BIO_new_dgram) \
	X(BIO_read) \
	X(BIO_s_mem) \
	X(BN_bin2bn) \
	X(BN_free) \
	X(BN_to_ASN1_INTEGER) \
	X(CRYPTO_memcmp) \
	X(DTLS_client_method) \
	X(DTLS_server_method) \
	X(DTLSv1_listen) \
	X(ERR_clear_error) \
	X(ERR_peek_error) \
	X(ERR_reason_error_string) \
	X(EVP_PKEY_Q_keygen) \
	X(EVP_PKEY_free) \
	X(EVP_sha256) \
	X(HMAC) \
	X(RAND_bytes) \
	X(SSL_CIPHER_get_name) \
	X(SSL_CTX_check_private_key) \
	X(SSL_CTX_ctrl) \
	X(SSL_CTX_free) \
	X(SSL_CTX_get0_certificate) \
	X(SSL_CTX_load_verify_dir) \
	X(SSL_CTX_load_verify_file) \
	X(SSL_CTX_new) \
	X(SSL_CTX_set_alpn_protos) \
	X(SSL_CTX_set_alpn_select_cb) \
	X(SSL_CTX_set_client_CA_list) \
	X(SSL_CTX_set_cookie_generate_cb) \
	X(SSL_CTX_set_cookie_verify_cb) \
	X(SSL_CTX_set_default_read_buffer_len) \
	X(SSL_CTX_set_default_verify_paths) \
	X(SSL_CTX_set_num_tickets) \
	X(SSL_CTX_set_options) \
	X(SSL_CTX_set_verify) \
	X(SSL_CTX_use_PrivateKey) \
	X(SSL_CTX_use_PrivateKey_file) \
	X(SSL_CTX_use_certificate) \
	X(SSL_CTX_use_certificate_chain_file) \
	X(SSL_SESSION_get_max_fragment_length) \
	X(SSL_ctrl) \
	X(SSL_do_handshake) \
	X(SSL_free) \
	X(SSL_get0_alpn_selected) \
	X(SSL_get0_param) \
	X(SSL_get0_peer_certificate) \
	X(SSL_get0_peername) \
	X(SSL_get_current_cipher) \
	X(SSL_get_error) \
	X(SSL_get_ex_data) \
	X(SSL_get_rbio) \
	X(SSL_get_session) \
	X(SSL_get_verify_result) \
	X(SSL_get_version) \
	X(SSL_get_wbio) \
	X(SSL_has_pending) \
	X(SSL_load_client_CA_file) \
	X(SSL_new) \
	X(SSL_pending) \
	X(SSL_read) \
	X(SSL_select_next_proto) \
	X(SSL_set1_host) \
	X(SSL_set_accept_state) \
	X(SSL_set_bio) \
	X(SSL_set_connect_state) \
	X(SSL_set_ex_data) \
	X(SSL_set_fd) \
	X(SSL_set_hostflags) \
	X(SSL_shutdown) \
	X(SSL_write) \
	X(TLS_client_method) \
	X(TLS_server_method) \
	X(X509_NAME_add_entry_by_txt) \
	X(X509_NAME_print_ex) \
	X(X509_VERIFY_PARAM_set1_ip_asc) \
	X(X509_digest) \
	X(X509_free) \
	X(X509_get_serialNumber) \
	X(X509_get_subject_name) \
	X(X509_getm_notAfter) \
	X(X509_getm_notBefore) \
	X(X509_gmtime_adj) \
	X(X509_new) \
	X(X509_set_issuer_name) \
	X(X509_set_pubkey) \
	X(X509_set_version) \
	X(X509_sign) \
	X(X509_verify_cert_error_string)

/*
 * The functions, resolved once by tls_load before anything of OpenSSL is
 * used, and only read after (the one piece of global state here: calls
 * made with OpenSSL's own names have no other way to reach it).
 */
struct tls_api {
#define TLS_API_MEMBER(f) __typeof__(f) *f;
	TLS_API(TLS_API_MEMBER)
#undef TLS_API_MEMBER
};
extern struct tls_api tls_api;

#ifndef TLSLOAD_IMPL
#define BIO_ADDR_family	(*tls_api.BIO_ADDR_family)
#define BIO_ADDR_free	(*tls_api.BIO_ADDR_free)
#define BIO_ADDR_new	(*tls_api.BIO_ADDR_new)
#define BIO_ADDR_rawaddress	(*tls_api.BIO_ADDR_rawaddress)
#define BIO_ADDR_rawmake	(*tls_api.BIO_ADDR_rawmake)
#define BIO_ADDR_rawport	(*tls_api.BIO_ADDR_rawport)
#define BIO_ctrl	(*tls_api.BIO_ctrl)
#define BIO_free	(*tls_api.BIO_free)
#define BIO_new	(*tls_api.BIO_new)
#define BIO_new_dgram	(*tls_api.BIO_new_dgram)
#define BIO_read	(*tls_api.BIO_read)
#define BIO_s_mem	(*tls_api.BIO_s_mem)
#define BN_bin2bn	(*tls_api.BN_bin2bn)
#define BN_free	(*tls_api.BN_free)
#define BN_to_ASN1_INTEGER	(*tls_api.BN_to_ASN1_INTEGER)
#define CRYPTO_memcmp	(*tls_api.CRYPTO_memcmp)
#define DTLS_client_method	(*tls_api.DTLS_client_method)
#define DTLS_server_method	(*tls_api.DTLS_server_method)
#define DTLSv1_listen	(*tls_api.DTLSv1_listen)
#define ERR_clear_error	(*tls_api.ERR_clear_error)
#define ERR_peek_error	(*tls_api.ERR_peek_error)
#define ERR_reason_error_string	(*tls_api.ERR_reason_error_string)
#define EVP_PKEY_Q_keygen	(*tls_api.EVP_PKEY_Q_keygen)
#define EVP_PKEY_free	(*tls_api.EVP_PKEY_free)
#define EVP_sha256	(*tls_api.EVP_sha256)
#define HMAC	(*tls_api.HMAC)
#define RAND_bytes	(*tls_api.RAND_bytes)
#define SSL_CIPHER_get_name	(*tls_api.SSL_CIPHER_get_name)
#define SSL_CTX_check_private_key	(*tls_api.SSL_CTX_check_private_key)
#define SSL_CTX_ctrl	(*tls_api.SSL_CTX_ctrl)
#define SSL_CTX_free	(*tls_api.SSL_CTX_free)
#define SSL_CTX_get0_certificate	(*tls_api.SSL_CTX_get0_certificate)
#define SSL_CTX_load_verify_dir	(*tls_api.SSL_CTX_load_verify_dir)
#define SSL_CTX_load_verify_file	(*tls_api.SSL_CTX_load_verify_file)
#define SSL_CTX_new	(*tls_api.SSL_CTX_new)
#define SSL_CTX_set_alpn_protos	(*tls_api.SSL_CTX_set_alpn_protos)
#define SSL_CTX_set_alpn_select_cb	(*tls_api.SSL_CTX_set_alpn_select_cb)
#define SSL_CTX_set_client_CA_list	(*tls_api.SSL_CTX_set_client_CA_list)
#define SSL_CTX_set_cookie_generate_cb	(*tls_api.SSL_CTX_set_cookie_generate_cb)
#define SSL_CTX_set_cookie_verify_cb	(*tls_api.SSL_CTX_set_cookie_verify_cb)
#define SSL_CTX_set_default_read_buffer_len	(*tls_api.SSL_CTX_set_default_read_buffer_len)
#define SSL_CTX_set_default_verify_paths	(*tls_api.SSL_CTX_set_default_verify_paths)
#define SSL_CTX_set_num_tickets	(*tls_api.SSL_CTX_set_num_tickets)
#define SSL_CTX_set_options	(*tls_api.SSL_CTX_set_options)
#define SSL_CTX_set_verify	(*tls_api.SSL_CTX_set_verify)
#define SSL_CTX_use_PrivateKey	(*tls_api.SSL_CTX_use_PrivateKey)
#define SSL_CTX_use_PrivateKey_file	(*tls_api.SSL_CTX_use_PrivateKey_file)
#define SSL_CTX_use_certificate	(*tls_api.SSL_CTX_use_certificate)
#define SSL_CTX_use_certificate_chain_file	(*tls_api.SSL_CTX_use_certificate_chain_file)
#define SSL_SESSION_get_max_fragment_length	(*tls_api.SSL_SESSION_get_max_fragment_length)
#define SSL_ctrl	(*tls_api.SSL_ctrl)
#define SSL_do_handshake	(*tls_api.SSL_do_handshake)
#define SSL_free	(*tls_api.SSL_free)
#define SSL_get0_alpn_selected	(*tls_api.SSL_get0_alpn_selected)
#define SSL_get0_param	(*tls_api.SSL_get0_param)
#define SSL_get0_peer_certificate	(*tls_api.SSL_get0_peer_certificate)
#define SSL_get0_peername	(*tls_api.SSL_get0_peername)
#define SSL_get_current_cipher	(*tls_api.SSL_get_current_cipher)
#define SSL_get_error	(*tls_api.SSL_get_error)
#define SSL_get_ex_data	(*tls_api.SSL_get_ex_data)
#define SSL_get_rbio	(*tls_api.SSL_get_rbio)
#define SSL_get_session	(*tls_api.SSL_get_session)
#define SSL_get_verify_result	(*tls_api.SSL_get_verify_result)
#define SSL_get_version	(*tls_api.SSL_get_version)
#define SSL_get_wbio	(*tls_api.SSL_get_wbio)
#define SSL_has_pending	(*tls_api.SSL_has_pending)
#define SSL_load_client_CA_file	(*tls_api.SSL_load_client_CA_file)
#define SSL_new	(*tls_api.SSL_new)
#define SSL_pending	(*tls_api.SSL_pending)
#define SSL_read	(*tls_api.SSL_read)
#define SSL_select_next_proto	(*tls_api.SSL_select_next_proto)
#define SSL_set1_host	(*tls_api.SSL_set1_host)
#define SSL_set_accept_state	(*tls_api.SSL_set_accept_state)
#define SSL_set_bio	(*tls_api.SSL_set_bio)
#define SSL_set_connect_state	(*tls_api.SSL_set_connect_state)
#define SSL_set_ex_data	(*tls_api.SSL_set_ex_data)
#define SSL_set_fd	(*tls_api.SSL_set_fd)
#define SSL_set_hostflags	(*tls_api.SSL_set_hostflags)
#define SSL_shutdown	(*tls_api.SSL_shutdown)
#define SSL_write	(*tls_api.SSL_write)
#define TLS_client_method	(*tls_api.TLS_client_method)
#define TLS_server_method	(*tls_api.TLS_server_method)
#define X509_NAME_add_entry_by_txt	(*tls_api.X509_NAME_add_entry_by_txt)
#define X509_NAME_print_ex	(*tls_api.X509_NAME_print_ex)
#define X509_VERIFY_PARAM_set1_ip_asc	(*tls_api.X509_VERIFY_PARAM_set1_ip_asc)
#define X509_digest	(*tls_api.X509_digest)
#define X509_free	(*tls_api.X509_free)
#define X509_get_serialNumber	(*tls_api.X509_get_serialNumber)
#define X509_get_subject_name	(*tls_api.X509_get_subject_name)
#define X509_getm_notAfter	(*tls_api.X509_getm_notAfter)
#define X509_getm_notBefore	(*tls_api.X509_getm_notBefore)
#define X509_gmtime_adj	(*tls_api.X509_gmtime_adj)
#define X509_new	(*tls_api.X509_new)
#define X509_set_issuer_name	(*tls_api.X509_set_issuer_name)
#define X509_set_pubkey	(*tls_api.X509_set_pubkey)
#define X509_set_version	(*tls_api.X509_set_version)
#define X509_sign	(*tls_api.X509_sign)
#define X509_verify_cert_error_string	(*tls_api.X509_verify_cert_error_string)
#endif /* !TLSLOAD_IMPL */

#endif /* TLS_DLOPEN */

#endif /* !TLSLOAD_H */
