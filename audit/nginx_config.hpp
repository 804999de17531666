// The certificates an nginx configuration uses, read from the stdout of
// `nginx -T`: every file nginx read, each after a line
// "# configuration file <path>:", the main file first. Pure and standard
// library only (the fuzz target compiles this file alone); it never touches
// the file system, includes are resolved against the dumped file names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace certfleet::audit {

struct NginxListen {
    // "" when only a port is given or "*"; "::" style for [::]; "unix:..." kept as written
    std::string address;
    int port = 80;                // nginx default when no port is written; 0 for unix: sockets
    bool ssl = false;             // "ssl" parameter (or the server has legacy "ssl on;")
    bool quic = false;            // "quic" parameter: HTTP/3 over UDP, TLS with the same certs
    bool default_server = false;  // "default_server" (or the old "default") parameter
};

struct NginxCertificateUse {
    // "ssl_certificate", "proxy_ssl_certificate", "grpc_ssl_certificate", "uwsgi_ssl_certificate"
    std::string directive;
    // absolute path (relative ones resolved against the main file's directory,
    // as nginx's conf prefix); as written when it is not a path
    std::string certificate;
    std::string key;                  // its matching *_certificate_key ("" when there is none)
    bool certificate_is_path = true;  // false when it contains '$' or starts with "data:",
                                      // "engine:" or "store:"
    bool key_is_path = true;          // false as well when there is no key
    std::string file;                 // dumped file and line of the *_certificate directive
    int line = 0;
    std::string context;                    // "http", "stream" or "mail"
    std::vector<std::string> server_names;  // of the server {} it applies to (empty at http level)
    std::vector<NginxListen> listens;       // of that server, as written
};

struct NginxDump {
    std::vector<std::string> files;  // the dumped files, in order
    // Per http / stream / mail block: each server in the order nginx reads
    // it (its pairs, then its locations' own proxy_/grpc_/uwsgi_ pairs), then
    // the block-level pairs no server inherits.
    std::vector<NginxCertificateUse> uses;
    // "/etc/nginx/conf.d/a.conf:12: unterminated quoted string",
    // "no '# configuration file' header: is this nginx -T output?",
    // "/etc/nginx/nginx.conf:3: include /x/*.conf: no dumped file matches"
    std::vector<std::string> problems;
};

// Never throws on malformed input; bounded in time and memory for any input.
NginxDump parse_nginx_dump(std::string_view text);

}  // namespace certfleet::audit
