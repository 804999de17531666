// CSRs, certificate parsing, PEM bundles and chain verification.
#include <chrono>
#include <climits>
#include <ctime>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "core/crypto.hpp"
#include "core/crypto_internal.hpp"

namespace certfleet::core {

using namespace detail;

namespace {

constexpr std::string_view kBeginCert = "-----BEGIN CERTIFICATE-----";
constexpr std::string_view kEndCert = "-----END CERTIFICATE-----";
// RFC 5280 upper bound (ub-common-name) for the CN attribute.
constexpr size_t kMaxCommonName = 64;

Result<std::string> to_der(X509* cert) {
    const int len = i2d_X509(cert, nullptr);
    if (len <= 0)
        return openssl_failure("encoding certificate");
    std::string der(static_cast<size_t>(len), '\0');
    auto* p = reinterpret_cast<unsigned char*>(der.data());
    if (i2d_X509(cert, &p) != len)
        return openssl_failure("encoding certificate");
    return der;
}

// Every certificate in a PEM bundle; other block types are skipped.
Result<std::vector<X509Ptr>> read_certificates(std::string_view pem) {
    BioPtr bio = memory_bio(pem);
    if (!bio)
        return openssl_failure("reading certificate PEM");
    std::vector<X509Ptr> certs;
    while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, refuse_passphrase, nullptr))
        certs.emplace_back(cert);
    // Running out of blocks is how the loop ends; anything else is a damaged block.
    const unsigned long last = ERR_peek_last_error();
    if (last != 0 &&
        !(ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE))
        return openssl_failure("reading certificate PEM");
    ERR_clear_error();
    if (certs.empty())
        return fail(ErrorKind::Generic, "no CERTIFICATE block in PEM");
    return certs;
}

Result<X509Ptr> read_first_certificate(std::string_view pem) {
    BioPtr bio = memory_bio(pem);
    if (!bio)
        return openssl_failure("reading certificate PEM");
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, refuse_passphrase, nullptr));
    if (!cert)
        return openssl_failure("reading certificate PEM");
    return cert;
}

std::string name_rfc2253(const X509_NAME* name) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0)
        return {};
    return bio_contents(bio.get());
}

Result<TimePoint> to_time_point(const ASN1_TIME* t, std::string_view which) {
    std::tm tm{};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return openssl_failure("reading " + std::string(which));
    using namespace std::chrono;
    const year_month_day date{year(tm.tm_year + 1900), month(static_cast<unsigned>(tm.tm_mon + 1)),
                              day(static_cast<unsigned>(tm.tm_mday))};
    return TimePoint(sys_days(date)) + hours(tm.tm_hour) + minutes(tm.tm_min) + seconds(tm.tm_sec);
}

Result<std::string> serial_hex(const X509* cert) {
    BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
    if (!bn)
        return openssl_failure("reading serial number");
    std::string bytes(static_cast<size_t>(BN_num_bytes(bn.get())), '\0');
    BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(bytes.data()));
    // RFC 5280 forbids negative serials but some CAs issued them; keep the sign.
    return canonical_serial((BN_is_negative(bn.get()) ? "-" : "") + hex_encode(bytes));
}

std::vector<std::string> san_dns_names(const X509* cert) {
    std::vector<std::string> out;
    GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    if (!names)
        return out;
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
        if (gn->type != GEN_DNS)
            continue;
        const ASN1_STRING* s = gn->d.dNSName;
        out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<size_t>(ASN1_STRING_length(s)));
    }
    return out;
}

Result<CertificateInfo> describe(X509* cert) {
    CertificateInfo info;
    auto serial = serial_hex(cert);
    if (!serial)
        return serial.failure();
    info.serial_hex = std::move(*serial);
    auto not_before = to_time_point(X509_get0_notBefore(cert), "notBefore");
    if (!not_before)
        return not_before.failure();
    auto not_after = to_time_point(X509_get0_notAfter(cert), "notAfter");
    if (!not_after)
        return not_after.failure();
    info.not_before = *not_before;
    info.not_after = *not_after;
    info.dns_names = san_dns_names(cert);
    info.subject = name_rfc2253(X509_get_subject_name(cert));
    info.issuer = name_rfc2253(X509_get_issuer_name(cert));
    info.is_ca = (X509_get_extension_flags(cert) & EXFLAG_CA) != 0;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (X509_digest(cert, EVP_sha256(), md, &md_len) != 1)
        return openssl_failure("computing certificate fingerprint");
    info.sha256_fingerprint =
        hex_encode(std::string_view(reinterpret_cast<const char*>(md), md_len));
    return info;
}

// subjectAltName with every domain as a dNSName.
Result<X509ExtPtr> san_extension(const std::vector<std::string>& domains, bool critical) {
    GeneralNamesPtr names(GENERAL_NAMES_new());
    if (!names)
        return openssl_failure("building subjectAltName");
    for (const auto& domain : domains) {
        GeneralNamePtr gn(GENERAL_NAME_new());
        Asn1StringPtr ia5(ASN1_IA5STRING_new());
        if (!gn || !ia5 ||
            ASN1_STRING_set(ia5.get(), domain.data(), static_cast<int>(domain.size())) != 1)
            return openssl_failure("building subjectAltName");
        GENERAL_NAME_set0_value(gn.get(), GEN_DNS, ia5.release());
        if (sk_GENERAL_NAME_push(names.get(), gn.get()) <= 0)
            return openssl_failure("building subjectAltName");
        (void)gn.release();  // now owned by `names`
    }
    X509ExtPtr ext(X509V3_EXT_i2d(NID_subject_alt_name, critical ? 1 : 0, names.get()));
    if (!ext)
        return openssl_failure("encoding subjectAltName");
    return ext;
}

}  // namespace

Result<CertificateInfo> detail::describe_certificate(X509* cert) {
    return describe(cert);
}

Result<std::string> make_csr_der(const PrivateKey& key, const std::vector<std::string>& domains) {
    ErrorQueueScope errors;
    if (domains.empty())
        return fail(ErrorKind::Generic, "CSR needs at least one domain");
    for (const auto& d : domains)
        if (d.empty() || d.find('\0') != std::string::npos || d.size() > 253)
            return fail(ErrorKind::Generic, "invalid domain name in CSR: \"" + d + "\"");

    X509ReqPtr req(X509_REQ_new());
    if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1)
        return openssl_failure("creating CSR");
    // CAs take names from the SAN; the CN is only for software that still reads it.
    const std::string& first = domains.front();
    const bool has_cn = first.size() <= kMaxCommonName;
    if (has_cn && X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(req.get()), NID_commonName,
                                             MBSTRING_UTF8, as_bytes(first),
                                             static_cast<int>(first.size()), -1, 0) != 1)
        return openssl_failure("setting CSR subject");
    // RFC 5280 §4.2.1.6: with an empty subject the SAN must be critical.
    auto san = san_extension(domains, !has_cn);
    if (!san)
        return san.failure();
    ExtensionStackPtr exts(sk_X509_EXTENSION_new_null());
    if (!exts || sk_X509_EXTENSION_push(exts.get(), san->get()) <= 0)
        return openssl_failure("building CSR extensions");
    (void)san->release();  // now owned by `exts`
    if (X509_REQ_add_extensions(req.get(), exts.get()) != 1 ||
        X509_REQ_set_pubkey(req.get(), key.raw()) != 1)
        return openssl_failure("building CSR");
    if (X509_REQ_sign(req.get(), key.raw(), EVP_sha256()) <= 0)
        return openssl_failure("signing CSR");

    const int len = i2d_X509_REQ(req.get(), nullptr);
    if (len <= 0)
        return openssl_failure("encoding CSR");
    std::string der(static_cast<size_t>(len), '\0');
    auto* p = reinterpret_cast<unsigned char*>(der.data());
    if (i2d_X509_REQ(req.get(), &p) != len)
        return openssl_failure("encoding CSR");
    return der;
}

Result<CertificateInfo> parse_certificate_pem(std::string_view pem) {
    ErrorQueueScope errors;
    auto cert = read_first_certificate(pem);
    if (!cert)
        return cert.failure();
    return describe(cert->get());
}

Result<CertificateInfo> parse_certificate_der(std::string_view der) {
    ErrorQueueScope errors;
    if (der.size() > static_cast<size_t>(LONG_MAX))
        return fail(ErrorKind::Generic, "certificate DER too large");
    const unsigned char* p = as_bytes(der);
    X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!cert)
        return openssl_failure("decoding certificate DER");
    if (p != as_bytes(der) + der.size())
        return fail(ErrorKind::Generic, "certificate DER has trailing data");
    return describe(cert.get());
}

std::vector<std::string> split_pem_certificates(std::string_view pem) {
    std::vector<std::string> out;
    size_t pos = 0;
    while ((pos = pem.find(kBeginCert, pos)) != std::string_view::npos) {
        const size_t end = pem.find(kEndCert, pos + kBeginCert.size());
        if (end == std::string_view::npos)
            break;  // truncated block: not a certificate
        std::string block;
        for (char c : pem.substr(pos, end + kEndCert.size() - pos))
            if (c != '\r')
                block += c;  // CRLF files come from Windows-side tooling
        block += '\n';
        out.push_back(std::move(block));
        pos = end + kEndCert.size();
    }
    return out;
}

Result<bool> key_matches_certificate(const PrivateKey& key, std::string_view cert_pem) {
    ErrorQueueScope errors;
    auto cert = read_first_certificate(cert_pem);
    if (!cert)
        return cert.failure();
    const EVP_PKEY* pub = X509_get0_pubkey(cert->get());
    if (!pub)
        return openssl_failure("reading certificate public key");
    // 0 = different key, negative = different type or not comparable: both "no".
    return EVP_PKEY_eq(key.raw(), pub) == 1;
}

Status verify_chain(std::string_view chain_pem, std::string_view roots_pem) {
    ErrorQueueScope errors;
    auto chain = read_certificates(chain_pem);
    if (!chain)
        return fail(ErrorKind::Generic, "chain: " + chain.error().message);
    auto roots = read_certificates(roots_pem);
    if (!roots)
        return fail(ErrorKind::Generic, "trust roots: " + roots.error().message);

    X509StorePtr store(X509_STORE_new());
    if (!store)
        return openssl_failure("creating certificate store");
    for (const auto& root : *roots)
        if (X509_STORE_add_cert(store.get(), root.get()) != 1)
            return openssl_failure("adding trust root");
    X509StackPtr untrusted(sk_X509_new_null());
    if (!untrusted)
        return openssl_failure("creating certificate stack");
    for (size_t i = 1; i < chain->size(); ++i)
        if (sk_X509_push(untrusted.get(), (*chain)[i].get()) <= 0)
            return openssl_failure("building untrusted chain");

    X509* leaf = chain->front().get();
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) != 1)
        return openssl_failure("preparing chain verification");
    const int rc = X509_verify_cert(ctx.get());
    if (rc == 1)
        return {};
    if (rc < 0)
        return openssl_failure("verifying certificate chain");
    const int err = X509_STORE_CTX_get_error(ctx.get());
    const X509* failed = X509_STORE_CTX_get_current_cert(ctx.get());
    std::string subject = name_rfc2253(X509_get_subject_name(failed ? failed : leaf));
    return fail(ErrorKind::Generic, std::string("certificate chain does not verify: ") +
                                        X509_verify_cert_error_string(err) + " (at depth " +
                                        std::to_string(X509_STORE_CTX_get_error_depth(ctx.get())) +
                                        ", subject \"" + subject + "\")");
}

std::string ari_cert_id(std::string_view key_identifier, std::string_view serial_der_content) {
    return base64url_encode(key_identifier) + "." + base64url_encode(serial_der_content);
}

Result<std::string> ari_cert_id(std::string_view cert_pem) {
    ErrorQueueScope errors;
    auto cert = read_first_certificate(cert_pem);
    if (!cert)
        return cert.failure();
    const ASN1_OCTET_STRING* key_id = X509_get0_authority_key_id(cert->get());
    if (!key_id || ASN1_STRING_length(key_id) <= 0)
        return fail(ErrorKind::Generic,
                    "certificate has no Authority Key Identifier (keyIdentifier)");
    // RFC 9773 wants the DER content octets, sign byte included, which is not
    // what ASN1_STRING_get0_data holds (magnitude only): encode, then drop the
    // tag and length.
    const ASN1_INTEGER* serial = X509_get0_serialNumber(cert->get());
    const int len = i2d_ASN1_INTEGER(serial, nullptr);
    if (len <= 2)
        return openssl_failure("encoding serial number");
    std::string der(static_cast<size_t>(len), '\0');
    auto* p = reinterpret_cast<unsigned char*>(der.data());
    if (i2d_ASN1_INTEGER(serial, &p) != len)
        return openssl_failure("encoding serial number");
    const auto first_length = static_cast<unsigned char>(der[1]);
    // Short form (< 0x80) is the length itself; long form 0x8N is N length bytes.
    const size_t header = first_length < 0x80 ? 2 : 2 + (first_length & 0x7fU);
    if (header >= der.size())
        return fail(ErrorKind::Generic, "malformed serial number encoding");
    return ari_cert_id(
        std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(key_id)),
                         static_cast<size_t>(ASN1_STRING_length(key_id))),
        std::string_view(der).substr(header));
}

Result<std::string> certificate_der(std::string_view pem) {
    ErrorQueueScope errors;
    auto cert = read_first_certificate(pem);
    if (!cert)
        return cert.failure();
    return to_der(cert->get());
}

namespace detail {

Result<int> add_trusted_certificates(X509_STORE* store, std::string_view pem) {
    auto certs = read_certificates(pem);
    if (!certs)
        return certs.failure();
    for (const auto& cert : *certs)
        if (X509_STORE_add_cert(store, cert.get()) != 1)  // a duplicate is not an error
            return openssl_failure("adding a trusted certificate");
    return static_cast<int>(certs->size());
}

}  // namespace detail

}  // namespace certfleet::core
