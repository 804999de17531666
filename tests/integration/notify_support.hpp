// Local receivers for notification tests: a webhook receiver and an SMTP
// server (Python tools under tools/, run with Debian's /usr/bin/python3), and
// TLS material for the SMTP server made with the openssl CLI.
#pragma once

#include <chrono>
#include <filesystem>
#include <signal.h>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "lab.hpp"

namespace certfleet::testing {

inline const std::string kPython = "/usr/bin/python3";  // not PATH's pyenv shim: Debian's modules
inline const std::string kTools = std::string(CERTFLEET_SOURCE_DIR) + "/tests/integration/tools";

// A tool started in the background (it bounds its own lifetime too); stopped
// by pid when the test ends.
class BackgroundTool {
public:
    BackgroundTool(const std::string& dir, std::vector<std::string> args) {
        m_port_file = dir + "/port";
        std::string command = "exec " + kPython;
        args.insert(args.end(), {"--port-file", m_port_file});
        for (const auto& a : args)
            command += " '" + a + "'";
        auto r =
            run_command({"/bin/sh", "-c", command + " >'" + dir + "/tool.log' 2>&1 & echo $!"});
        REQUIRE(r.exit_code == 0);
        m_pid = std::stoi(r.out);
        m_log = dir + "/tool.log";
        // Ready when the port file appears (written by rename); at most 15 s.
        for (int i = 0; i < 150 && !std::filesystem::exists(m_port_file); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        std::string log = std::filesystem::exists(m_log) ? read_file(m_log) : std::string();
        INFO(log);
        REQUIRE(std::filesystem::exists(m_port_file));
        m_port = read_file(m_port_file);
    }
    ~BackgroundTool() {
        if (m_pid > 0)
            ::kill(m_pid, SIGTERM);
    }
    BackgroundTool(const BackgroundTool&) = delete;
    BackgroundTool& operator=(const BackgroundTool&) = delete;

    const std::string& port() const { return m_port; }

private:
    pid_t m_pid = -1;
    std::string m_port_file;
    std::string m_log;
    std::string m_port;
};

// JSON lines a tool recorded, waiting (bounded) until `count` are there.
inline std::vector<nlohmann::json> recorded(const std::string& path, size_t count) {
    std::vector<nlohmann::json> lines;
    for (int i = 0; i < 100; ++i) {
        lines.clear();
        if (std::filesystem::exists(path)) {
            std::string text = read_file(path);
            for (size_t start = 0; start < text.size();) {
                size_t end = text.find('\n', start);
                if (end == std::string::npos)
                    break;  // a line still being written
                lines.push_back(nlohmann::json::parse(text.substr(start, end - start)));
                start = end + 1;
            }
        }
        if (lines.size() >= count)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return lines;
}

// A CA and a server certificate for 127.0.0.1, made with the openssl CLI.
inline void make_tls_material(const std::string& dir) {
    std::string script =
        "set -e; cd '" + dir +
        "'\n"
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
        "-subj '/CN=certfleet test mail CA' -keyout ca.key -out ca.pem 2>/dev/null\n"
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
        "-subj '/CN=127.0.0.1' -keyout server.key -out server.csr 2>/dev/null\n"
        "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext.cnf\n"
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
        "-extfile ext.cnf -out server.pem 2>/dev/null\n";
    auto r = run_command({"/bin/sh", "-c", script});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
}

}  // namespace certfleet::testing
