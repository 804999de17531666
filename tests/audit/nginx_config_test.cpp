// The `nginx -T` parser: a Debian-style dump with includes, inheritance and
// every listen form, nginx's tokenizer rules, and inputs that must only ever
// give problems (cycles, unbalanced braces, huge or deeply nested text).
#include "audit/nginx_config.hpp"

#include <algorithm>
#include <chrono>

#include <catch2/catch.hpp>

#include "audit/nginx_config_syntax.hpp"

using namespace certfleet::audit;

namespace {

// nginx -T writes the header, the file as it is, then a newline.
std::string dump(std::initializer_list<std::pair<std::string, std::string>> files) {
    std::string out = "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n";
    for (const auto& [name, text] : files)
        out += "# configuration file " + name + ":\n" + text + "\n";
    return out;
}

const std::string kNginxConf = R"(user www-data;
worker_processes auto;
pid /run/nginx.pid;
include /etc/nginx/modules-enabled/*.conf;

events {
	worker_connections 768;
}

http {
	sendfile on;
	include /etc/nginx/mime.types;
	ssl_protocols TLSv1.2 TLSv1.3;
	# ssl_certificate /etc/ssl/commented-out.pem;
	ssl_certificate /etc/ssl/certs/default.pem; # ssl_certificate_key /not/this.key;
	ssl_certificate_key /etc/ssl/private/default.key;
	include /etc/nginx/conf.d/*.conf;
	include /etc/nginx/sites-enabled/*;
}

stream {
	map $ssl_preread_server_name $name { ssl_certificate not-a-directive; }
	server {
		listen 5443 ssl;
		ssl_certificate stream/cert.pem;
		ssl_certificate_key stream/key.pem;
		proxy_pass 127.0.0.1:8443;
	}
}
)";

const std::string kExample = R"(server {
	listen 443 ssl http2;
	listen [::]:443 ssl http2;
	server_name example.test www.example.test;
	ssl_certificate     /etc/letsencrypt/live/example.test/ecdsa.pem;
	ssl_certificate_key /etc/letsencrypt/live/example.test/ecdsa.key;
	ssl_certificate     /etc/letsencrypt/live/example.test/rsa.pem;
	ssl_certificate_key /etc/letsencrypt/live/example.test/rsa.key;
	include snippets/ssl-params.conf;
	location /api/ {
		proxy_pass https://backend;
		proxy_ssl_certificate     "/etc/nginx/client certs/api.pem";
		proxy_ssl_certificate_key '/etc/nginx/client certs/api.key';
	}
}
)";

const std::string kInherits = R"(server {
	listen 127.0.0.1:8443 ssl default_server;
	listen localhost:9443 ssl;
	listen *:10443 ssl;
	listen unix:/run/nginx/inherit.sock ssl;
	listen 8443 quic;
	server_name *.inherit.test .inherit.test "~^(?<sub>.+)\.inherit\.test$" _;
	if ($host = "x") { ssl_certificate /not/in/if.pem; }
}
)";

const std::string kOwnKey = R"(server {
	listen 443 ssl;
	server_name ownkey.test;
	ssl_certificate_key "/etc/ssl/private/with space.key";
})";

const std::string kDynamic = R"(server {
	listen 443 ssl;
	server_name dyn.test;
	ssl_certificate     /etc/ssl/dyn/$ssl_server_name.crt;
	ssl_certificate_key data:$dyn_key;
	location / { grpc_ssl_certificate_key client.key; grpc_pass grpcs://backend; }
}
)";

std::string debian_dump() {
    return dump({
        {"/etc/nginx/nginx.conf", kNginxConf},
        {"/etc/nginx/modules-enabled/50-mod-stream.conf",
         "load_module modules/ngx_stream_module.so;"},
        {"/etc/nginx/mime.types", "types {\n    text/html html htm;\n}"},
        {"/etc/nginx/conf.d/upstreams.conf", "upstream backend { server 127.0.0.1:8080; }"},
        {"/etc/nginx/sites-enabled/default",
         "server {\n\tlisten 80 default_server;\n\tlisten [::]:80 default_server;\n"
         "\tserver_name _;\n\tlocation / { try_files $uri $uri/ =404; }\n}"},
        {"/etc/nginx/sites-enabled/dynamic", kDynamic},
        {"/etc/nginx/sites-enabled/example.test", kExample},
        {"/etc/nginx/snippets/ssl-params.conf", "ssl_session_timeout 1d;"},
        {"/etc/nginx/sites-enabled/inherits", kInherits},
        {"/etc/nginx/sites-enabled/own-key", kOwnKey},
    });
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("a Debian-style dump: includes, two pairs, inheritance, stream", "[nginx_config]") {
    const NginxDump d = parse_nginx_dump(debian_dump());
    CHECK(d.problems.empty());
    CHECK(d.files.size() == 10);
    CHECK(d.files[0] == "/etc/nginx/nginx.conf");
    REQUIRE(d.uses.size() == 8);
    // Servers in the order nginx reads them (glob results sorted), each with
    // its locations' uses, then stream.
    const auto& def = d.uses[0];
    CHECK(def.server_names == Names{"_"});
    CHECK(def.certificate == "/etc/ssl/certs/default.pem");
    CHECK(def.key == "/etc/ssl/private/default.key");
    CHECK(def.file == "/etc/nginx/nginx.conf");
    CHECK(def.line == 15);
    CHECK(def.context == "http");
    REQUIRE(def.listens.size() == 2);
    CHECK(def.listens[1].address == "::");
    CHECK(def.listens[1].port == 80);
    CHECK_FALSE(def.listens[1].ssl);
    CHECK(def.listens[1].default_server);

    const auto& dyn = d.uses[1];
    CHECK(dyn.server_names == Names{"dyn.test"});
    CHECK(dyn.certificate == "/etc/ssl/dyn/$ssl_server_name.crt");
    CHECK_FALSE(dyn.certificate_is_path);
    CHECK(dyn.key == "data:$dyn_key");
    CHECK_FALSE(dyn.key_is_path);
    CHECK(dyn.file == "/etc/nginx/sites-enabled/dynamic");
    CHECK(dyn.line == 4);
    // A location's key without any grpc certificate: nothing to report.

    for (int i : {2, 3}) {
        INFO(i);
        CHECK(d.uses[i].directive == "ssl_certificate");
        CHECK(d.uses[i].server_names == Names{"example.test", "www.example.test"});
        REQUIRE(d.uses[i].listens.size() == 2);
        CHECK(d.uses[i].listens[0].address.empty());
        CHECK(d.uses[i].listens[0].port == 443);
        CHECK(d.uses[i].listens[0].ssl);
        CHECK(d.uses[i].listens[1].address == "::");
    }
    CHECK(d.uses[2].certificate == "/etc/letsencrypt/live/example.test/ecdsa.pem");
    CHECK(d.uses[2].key == "/etc/letsencrypt/live/example.test/ecdsa.key");
    CHECK(d.uses[3].certificate == "/etc/letsencrypt/live/example.test/rsa.pem");
    CHECK(d.uses[3].key == "/etc/letsencrypt/live/example.test/rsa.key");
    CHECK(d.uses[3].line == 7);
    const auto& proxy = d.uses[4];
    CHECK(proxy.directive == "proxy_ssl_certificate");
    CHECK(proxy.certificate == "/etc/nginx/client certs/api.pem");
    CHECK(proxy.key == "/etc/nginx/client certs/api.key");
    CHECK(proxy.server_names == Names{"example.test", "www.example.test"});
    CHECK(proxy.line == 12);

    const auto& inh = d.uses[5];
    CHECK(inh.certificate == "/etc/ssl/certs/default.pem");
    CHECK(inh.key == "/etc/ssl/private/default.key");
    CHECK(inh.server_names ==
          Names{"*.inherit.test", ".inherit.test", "~^(?<sub>.+)\\.inherit\\.test$", "_"});
    REQUIRE(inh.listens.size() == 5);
    CHECK(inh.listens[0].address == "127.0.0.1");
    CHECK(inh.listens[0].port == 8443);
    CHECK(inh.listens[0].default_server);
    CHECK(inh.listens[1].address == "localhost");
    CHECK(inh.listens[1].port == 9443);
    CHECK(inh.listens[2].address.empty());
    CHECK(inh.listens[2].port == 10443);
    CHECK(inh.listens[3].address == "unix:/run/nginx/inherit.sock");
    CHECK(inh.listens[3].port == 0);
    CHECK(inh.listens[3].ssl);
    CHECK(inh.listens[4].port == 8443);
    CHECK(inh.listens[4].quic);
    CHECK_FALSE(inh.listens[4].ssl);

    // Its own key, the http-level certificate.
    const auto& own = d.uses[6];
    CHECK(own.server_names == Names{"ownkey.test"});
    CHECK(own.certificate == "/etc/ssl/certs/default.pem");
    CHECK(own.key == "/etc/ssl/private/with space.key");

    const auto& stream = d.uses[7];
    CHECK(stream.context == "stream");
    CHECK(stream.certificate == "/etc/nginx/stream/cert.pem");  // relative to the conf prefix
    CHECK(stream.key == "/etc/nginx/stream/key.pem");
    CHECK(stream.server_names.empty());
    REQUIRE(stream.listens.size() == 1);
    CHECK(stream.listens[0].port == 5443);
    CHECK(stream.listens[0].ssl);
    // The http-level pair is not listed on its own: servers inherit it.
}

TEST_CASE("inheritance: uninherited http certificates, ssl on, keys merged apart",
          "[nginx_config]") {
    const NginxDump d = parse_nginx_dump(dump({{"/etc/nginx/nginx.conf", R"(
http {
    server { listen 443; ssl on; server_name own.test;
             ssl_certificate own.pem; ssl_certificate_key own.key;
             location / { proxy_ssl_certificate_key loc.key; } }
    ssl_certificate http.pem;            # after the server: nginx merges after parsing
    proxy_ssl_certificate client.pem;
    proxy_ssl_certificate_key client.key;
    server { listen 80; ssl off; proxy_ssl_certificate s.pem; }
}
mail { ssl on; server { listen 993; server_name mail.test;
       ssl_certificate /etc/mail.pem; ssl_certificate_key /etc/mail.key; } })"}}));
    CHECK(d.problems.empty());
    REQUIRE(d.uses.size() == 6);
    CHECK(d.uses[0].certificate == "/etc/nginx/own.pem");
    CHECK(d.uses[0].listens.at(0).ssl);  // legacy "ssl on"
    CHECK(d.uses[1].directive == "proxy_ssl_certificate");
    CHECK(d.uses[1].certificate == "/etc/nginx/client.pem");
    CHECK(d.uses[1].key == "/etc/nginx/client.key");
    // The location sets only a key: paired with the inherited certificate.
    CHECK(d.uses[2].certificate == "/etc/nginx/client.pem");
    CHECK(d.uses[2].key == "/etc/nginx/loc.key");
    CHECK(d.uses[2].server_names == Names{"own.test"});
    // The second server inherits http.pem (written after the first server)
    // without a key, and has its own proxy certificate with the http key.
    CHECK(d.uses[3].certificate == "/etc/nginx/http.pem");
    CHECK(d.uses[3].key.empty());
    CHECK_FALSE(d.uses[3].listens.at(0).ssl);  // "ssl off" in the server wins
    CHECK(d.uses[4].certificate == "/etc/nginx/s.pem");
    CHECK(d.uses[4].key == "/etc/nginx/client.key");
    CHECK(d.uses[5].context == "mail");
    CHECK(d.uses[5].listens.at(0).ssl);  // "ssl on" at mail level
    CHECK(d.uses[5].server_names == Names{"mail.test"});
}

TEST_CASE("http certificate no server inherits is reported once", "[nginx_config]") {
    const NginxDump d = parse_nginx_dump(dump({{"/srv/nginx/nginx.conf", R"(
http { ssl_certificate a.pem; ssl_certificate b.pem; ssl_certificate_key a.key;
       server { listen 443 ssl; ssl_certificate /own.pem; } })"}}));
    CHECK(d.problems.empty());
    REQUIRE(d.uses.size() == 3);
    CHECK(d.uses[0].certificate == "/own.pem");
    CHECK(d.uses[0].key == "/srv/nginx/a.key");  // keys are merged on their own
    CHECK(d.uses[1].certificate == "/srv/nginx/a.pem");
    CHECK(d.uses[1].key == "/srv/nginx/a.key");
    CHECK(d.uses[1].server_names.empty());
    CHECK(d.uses[1].listens.empty());
    CHECK(d.uses[2].certificate == "/srv/nginx/b.pem");
    CHECK(d.uses[2].key.empty());
    CHECK_FALSE(d.uses[2].key_is_path);
}

TEST_CASE("nginx tokenizer rules", "[nginx_config]") {
    const NginxDump d = parse_nginx_dump(dump({{"/etc/nginx/nginx.conf", R"(
http { server {
    server_name a#b "q\"uo\\te" 'single \' quote' x\ y ${host}z;
    ssl_certificate "/etc/ssl/tab\tnew\nline\q.pem";ssl_certificate_key "/k.key" ;
    ssl_certificate engine:pkcs11:id; ssl_certificate_key store:file:/k;
    # ssl_certificate /etc/ssl/commented.pem; ssl_certificate_key x;
    ssl_certificate /etc/nginx/./certs//c.pem; ssl_certificate_key ../up.key;
} })"}}));
    CHECK(d.problems.empty());
    REQUIRE(d.uses.size() == 3);
    CHECK(d.uses[0].server_names ==
          Names{"a#b", "q\"uo\\te", "single ' quote", "x\\ y", "${host}z"});
    CHECK(d.uses[0].certificate == "/etc/ssl/tab\tnew\nline\\q.pem");
    CHECK(d.uses[0].key == "/k.key");
    CHECK(d.uses[0].line == 4);
    CHECK(d.uses[1].certificate == "engine:pkcs11:id");
    CHECK_FALSE(d.uses[1].certificate_is_path);
    CHECK_FALSE(d.uses[1].key_is_path);
    CHECK(d.uses[2].certificate == "/etc/nginx/certs/c.pem");
    CHECK(d.uses[2].key == "/etc/nginx/../up.key");
    CHECK(d.uses[2].line == 7);
}

TEST_CASE("includes: missing, cycles, depth, globs", "[nginx_config]") {
    const NginxDump d = parse_nginx_dump(dump({
        {"/etc/nginx/nginx.conf",
         "include /etc/nginx/missing/*.conf;\ninclude nope.conf;\ninclude a.conf;\n"
         "include d0.conf;\nhttp { include sites/*; }"},
        {"/etc/nginx/a.conf", "include b.conf;"},
        {"/etc/nginx/b.conf", "include a.conf;"},
        {"/etc/nginx/sites/.hidden", "server { ssl_certificate /hidden.pem; }"},
        {"/etc/nginx/sites/sub/deeper", "server { ssl_certificate /deeper.pem; }"},
        {"/etc/nginx/sites/z", "server { ssl_certificate /z.pem; }"},
        {"/etc/nginx/sites/m", "server { ssl_certificate /m.pem; }"},
    }));
    REQUIRE(d.uses.size() == 2);  // dot files and subdirectories do not match "sites/*"
    CHECK(d.uses[0].certificate == "/m.pem");
    CHECK(d.uses[1].certificate == "/z.pem");
    CHECK(d.problems == std::vector<std::string>{
                            "/etc/nginx/nginx.conf:1: include /etc/nginx/missing/*.conf: no "
                            "dumped file matches",
                            "/etc/nginx/nginx.conf:2: include nope.conf: no dumped file matches",
                            "/etc/nginx/b.conf:1: include cycle: /etc/nginx/a.conf is already "
                            "being read",
                            "/etc/nginx/nginx.conf:4: include d0.conf: no dumped file matches",
                        });

    std::string deep = "# configuration file /n/nginx.conf:\ninclude /n/0;\n";
    for (int i = 0; i < 30; ++i)
        deep += "# configuration file /n/" + std::to_string(i) + ":\ninclude /n/" +
                std::to_string(i + 1) + ";\n";
    const NginxDump nested = parse_nginx_dump(deep);
    CHECK(nested.problems == std::vector<std::string>{"/n/15:1: includes nested deeper than 16"});
}

TEST_CASE("include fan-out is bounded by a work budget", "[nginx_config]") {
    // Each level includes the next 64 times: 64^8 expansions if unbounded.
    std::string text = "# configuration file /e/nginx.conf:\n";
    for (int level = 0; level < 8; ++level) {
        if (level > 0)
            text += "# configuration file /e/" + std::to_string(level) + ":\n";
        for (int i = 0; i < 64; ++i)
            text += "include /e/" + std::to_string(level + 1) + ";\n";
    }
    text += "# configuration file /e/8:\nhttp { ssl_certificate /x.pem; }\n";
    const auto start = std::chrono::steady_clock::now();
    const NginxDump d = parse_nginx_dump(text);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
    REQUIRE_FALSE(d.problems.empty());
    CHECK(d.problems.back().starts_with("stopped after "));
}

TEST_CASE("malformed input gives problems, never crashes", "[nginx_config]") {
    CHECK(parse_nginx_dump("user nginx;\nhttp {}\n").problems ==
          std::vector<std::string>{"no '# configuration file' header: is this nginx -T output?"});
    const auto problems = [](const std::string& conf) {
        return parse_nginx_dump("# configuration file /etc/nginx/nginx.conf:\n" + conf).problems;
    };
    CHECK(problems("http { server { listen 443 ssl }") ==
          std::vector<std::string>{
              "/etc/nginx/nginx.conf:1: unexpected \"}\"",
              "/etc/nginx/nginx.conf:1: unexpected end of file, expecting \"}\""});
    CHECK(problems("}\nhttp { }\nssl_certificate x") ==
          std::vector<std::string>{"/etc/nginx/nginx.conf:1: unexpected \"}\"",
                                   "/etc/nginx/nginx.conf:3: unexpected end of file, expecting "
                                   "\";\" or \"}\""});
    CHECK(problems("server_name \"open\n\n") ==
          std::vector<std::string>{"/etc/nginx/nginx.conf:1: unterminated quoted string",
                                   "/etc/nginx/nginx.conf:3: unexpected end of file, expecting "
                                   "\";\" or \"}\""});
    CHECK(problems("listen \"a\"b;").at(0) ==
          "/etc/nginx/nginx.conf:1: unexpected character after a quoted string");
    CHECK(problems("http { server { listen [::1; listen a:b; } }").size() == 2);
    CHECK(problems(";{}").size() == 2);

    const auto start = std::chrono::steady_clock::now();
    const NginxDump deep =
        parse_nginx_dump("# configuration file /n.conf:\nhttp { server { " +
                         std::string(100000, '{') + std::string(100000, '}') + " } }");
    CHECK(deep.problems.size() == 2);  // too deep, and the anonymous '{'s
    const NginxDump open_braces =
        parse_nginx_dump("# configuration file /n.conf:\n" + std::string(100000, '{'));
    CHECK(open_braces.problems.size() == 3);
    std::string big = "# configuration file /big.conf:\nhttp {\n";
    while (big.size() < (50U << 20))
        big += "server { listen 443 ssl; server_name a.test; ssl_certificate /a.pem; }\n";
    const NginxDump huge = parse_nginx_dump(big);
    CHECK(huge.uses.size() == 99999);  // the http block is one of the 100000 blocks kept
    CHECK(huge.problems ==
          std::vector<std::string>{
              "/big.conf:100001: more than 100000 server and location blocks",
              "/big.conf:" + std::to_string(std::count(big.begin(), big.end(), '\n')) +
                  ": unexpected end of file, expecting \"}\""});
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(60));
}

TEST_CASE("include globs match like fnmatch(FNM_PATHNAME | FNM_PERIOD)", "[nginx_config]") {
    using nginx_syntax::glob_match;
    std::size_t steps = 0;
    CHECK(glob_match("/etc/nginx/conf.d/*.conf", "/etc/nginx/conf.d/a.conf", steps));
    CHECK_FALSE(glob_match("/etc/nginx/*.conf", "/etc/nginx/conf.d/a.conf", steps));
    CHECK_FALSE(glob_match("/etc/nginx/*", "/etc/nginx/.hidden", steps));
    CHECK(glob_match("/etc/nginx/.*", "/etc/nginx/.hidden", steps));
    CHECK(glob_match("/s/[a-c]?[!x]", "/s/bzy", steps));
    CHECK_FALSE(glob_match("/s/[a-c]?[!x]", "/s/bzx", steps));
    CHECK(glob_match("/s/\\*", "/s/*", steps));
    CHECK_FALSE(glob_match("/s/\\*", "/s/a", steps));
    CHECK(glob_match("/s/[x", "/s/[x", steps));
    CHECK(glob_match("/s/*a*b*c", "/s/xxaxxbxxc", steps));
    // Many stars against a long name: linear-ish, where fnmatch is exponential.
    steps = 0;
    CHECK_FALSE(glob_match("/" + std::string(30, '*') + "b", "/" + std::string(4000, 'a'), steps));
    CHECK(steps < 1000000);
}
