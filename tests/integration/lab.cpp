#include "lab.hpp"

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

#ifndef CERTFLEET_BINARY
#error "CERTFLEET_BINARY must be defined (tests/CMakeLists.txt)"
#endif
#ifndef CERTFLEET_SOURCE_DIR
#error "CERTFLEET_SOURCE_DIR must be defined (tests/CMakeLists.txt)"
#endif

namespace certfleet::testing {
namespace {

constexpr auto kCommandTimeout = std::chrono::minutes(10);

std::string lab_dir() {
    if (const char* env = std::getenv("CERTFLEET_LAB_DIR"); env != nullptr && *env != '\0') {
        return env;
    }
#ifdef CERTFLEET_LAB_DIR
    return CERTFLEET_LAB_DIR;
#else
    return {};
#endif
}

std::string lab_script() {
    return std::string(CERTFLEET_SOURCE_DIR) + "/examples/lab/lab";
}

std::string errno_text(const std::string& what, const std::string& path) {
    return what + " " + path + ": " + std::strerror(errno);
}

// A temporary file for a child's output; unlinked right away, read back via the fd.
int anonymous_temp_file() {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/certfleet-test-out-XXXXXX";
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0) {
        throw std::runtime_error(errno_text("mkstemp", tmpl));
    }
    ::unlink(tmpl.c_str());
    return fd;
}

std::string read_fd(int fd) {
    std::string out;
    if (::lseek(fd, 0, SEEK_SET) < 0) {
        return out;
    }
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

CommandResult run(const std::string& program, const std::vector<std::string>& args,
                  const std::vector<std::pair<std::string, std::string>>& env) {
    int out_fd = anonymous_temp_file();
    int err_fd = anonymous_temp_file();

    std::vector<std::string> argv_store;
    argv_store.push_back(program);
    argv_store.insert(argv_store.end(), args.begin(), args.end());
    std::vector<char*> argv;
    argv.reserve(argv_store.size() + 1);
    for (auto& a : argv_store) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);

    pid_t pid = ::fork();
    if (pid < 0) {
        ::close(out_fd);
        ::close(err_fd);
        throw std::runtime_error(errno_text("fork for", program));
    }
    if (pid == 0) {
        // Child: own process group (so a timeout kills its children too),
        // stdin from /dev/null, stdout/stderr into the temp files.
        ::setpgid(0, 0);
        int null_fd = ::open("/dev/null", O_RDONLY);
        if (null_fd >= 0) {
            ::dup2(null_fd, STDIN_FILENO);
        }
        ::dup2(out_fd, STDOUT_FILENO);
        ::dup2(err_fd, STDERR_FILENO);
        for (const auto& [key, value] : env) {
            ::setenv(key.c_str(), value.c_str(), 1);
        }
        ::execvp(argv[0], argv.data());
        std::string msg = "cannot execute " + program + ": " + std::strerror(errno) + "\n";
        ssize_t ignored = ::write(STDERR_FILENO, msg.data(), msg.size());
        (void)ignored;
        ::_exit(127);
    }

    CommandResult result;
    const auto deadline = std::chrono::steady_clock::now() + kCommandTimeout;
    int status = 0;
    bool timed_out = false;
    for (;;) {
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            break;
        }
        if (r < 0 && errno != EINTR) {
            break;
        }
        if (!timed_out && std::chrono::steady_clock::now() > deadline) {
            ::kill(-pid, SIGKILL);
            ::kill(pid, SIGKILL);
            timed_out = true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    result.out = read_fd(out_fd);
    result.err = read_fd(err_fd);
    ::close(out_fd);
    ::close(err_fd);
    if (timed_out) {
        result.exit_code = 124;
        result.err += "\n[test harness: " + program + " killed after timeout]\n";
    } else if (WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.exit_code = 128 + WTERMSIG(status);
    }
    return result;
}

std::string trim(std::string s) {
    const char* ws = " \t\r\n";
    s.erase(s.find_last_not_of(ws) + 1);
    s.erase(0, s.find_first_not_of(ws));
    return s;
}

// Runs `lab CMD DIR [ARGS...]`; a failure fails the calling test.
std::string lab_command(const Lab& lab, const std::string& cmd,
                        const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{cmd, lab.dir};
    args.insert(args.end(), extra.begin(), extra.end());
    CommandResult r = run(lab_script(), args, {});
    if (r.exit_code != 0) {
        FAIL("examples/lab/lab " << cmd << " " << lab.dir << " failed (exit " << r.exit_code
                                 << "): " << r.err << r.out);
    }
    return r.out;
}

const std::string* find_value(const std::vector<std::pair<std::string, std::string>>& values,
                              const std::string& key) {
    for (const auto& [k, v] : values) {
        if (k == key) {
            return &v;
        }
    }
    return nullptr;
}

// The fleet part of lab.env (see examples/lab/lab write_lab_env): LAB_FLEET
// ("name=addr ..."), LAB_HOSTS, LAB_HOST_<i>_{NAME,ADDRESS,CERT_ROOT,
// NGINX_CONF,TEST_COMMAND,RELOAD_COMMAND} for i = 1..LAB_HOSTS. Returns an
// error message, "" when consistent.
std::string parse_fleet(const std::vector<std::pair<std::string, std::string>>& values,
                        std::vector<LabHost>& hosts) {
    const std::string* count_text = find_value(values, "LAB_HOSTS");
    const std::string* fleet = find_value(values, "LAB_FLEET");
    if (count_text == nullptr || fleet == nullptr ||
        count_text->find_first_not_of("0123456789") != std::string::npos || count_text->empty()) {
        return "LAB_HOSTS / LAB_FLEET missing or malformed";
    }
    std::vector<std::string> pairs;
    std::istringstream words(*fleet);
    for (std::string w; words >> w;) {
        pairs.push_back(w);
    }
    const size_t count = std::stoul(*count_text);
    if (pairs.size() != count) {
        return "LAB_FLEET names " + std::to_string(pairs.size()) + " hosts, LAB_HOSTS " +
               *count_text;
    }
    for (size_t i = 0; i < count; ++i) {
        const std::string prefix = "LAB_HOST_" + std::to_string(i + 1) + "_";
        LabHost host;
        for (auto [field, key] : {std::pair{&host.name, "NAME"},
                                  {&host.address, "ADDRESS"},
                                  {&host.cert_root, "CERT_ROOT"},
                                  {&host.nginx_conf, "NGINX_CONF"},
                                  {&host.test_command, "TEST_COMMAND"},
                                  {&host.reload_command, "RELOAD_COMMAND"}}) {
            const std::string* v = find_value(values, prefix + key);
            if (v == nullptr || v->empty()) {
                return prefix + key + " missing";
            }
            *field = *v;
        }
        if (pairs[i] != host.name + "=" + host.address) {
            return "LAB_FLEET entry " + pairs[i] + " does not match " + prefix + "NAME/ADDRESS";
        }
        hosts.push_back(std::move(host));
    }
    return {};
}

// The serial exactly as openssl printed it (certfleet must spell it the same).
std::string openssl_serial(std::string text) {
    text = trim(text);
    const std::string prefix = "serial=";
    if (text.compare(0, prefix.size(), prefix) == 0) {
        text.erase(0, prefix.size());
    }
    if (text.empty() || text.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
        return {};
    }
    return text;
}

}  // namespace

Lab Lab::load() {
    const std::string dir = lab_dir();
    const std::string how = "start it with `examples/lab/lab start " +
                            (dir.empty() ? std::string("DIR") : dir) +
                            "` and set CERTFLEET_LAB_DIR to that directory (ctest does both "
                            "through the lab_start fixture: `ctest --test-dir build`)";
    if (dir.empty()) {
        FAIL("the lab directory is unknown (CERTFLEET_LAB_DIR unset): " << how);
    }
    const std::string env_path = dir + "/lab.env";
    std::ifstream in(env_path);
    if (!in) {
        FAIL("the lab is not running: " << env_path << " not found; " << how);
    }
    Lab lab;
    std::vector<std::pair<std::string, std::string>> values;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        auto eq = line.find('=');
        if (eq == std::string::npos) {
            continue;
        }
        values.emplace_back(line.substr(0, eq), line.substr(eq + 1));
    }
    auto need = [&](const char* key) {
        for (const auto& [k, v] : values) {
            if (k == key && !v.empty()) {
                return v;
            }
        }
        FAIL(env_path << " has no " << key << ": restart the lab; " << how);
        return std::string();
    };
    lab.dir = need("LAB_DIR");
    lab.addr = need("LAB_ADDR");
    lab.dns = need("LAB_DNS");
    lab.tsig_name = need("LAB_TSIG_NAME");
    lab.tsig_secret_file = need("LAB_TSIG_SECRET_FILE");
    lab.tsig_key_file = need("LAB_TSIG_KEY_FILE");
    lab.ca_bundle = need("LAB_CA_BUNDLE");
    lab.acme_directory = need("LAB_ACME_DIRECTORY");
    lab.acme_mgmt = need("LAB_ACME_MGMT");
    lab.eab_directory = need("LAB_EAB_DIRECTORY");
    lab.eab_kid = need("LAB_EAB_KID");
    lab.eab_key_file = need("LAB_EAB_KEY_FILE");
    // The fleet (none when started with LAB_HOSTS=0).
    if (std::string error = parse_fleet(values, lab.hosts_); !error.empty()) {
        FAIL(env_path << ": " << error << " (written by an older examples/lab/lab?); " << how);
    }
    if (!lab.hosts_.empty()) {
        lab.ssh_port = need("LAB_SSH_PORT");
        lab.ssh_user = need("LAB_SSH_USER");
        lab.ssh_identity = need("LAB_SSH_IDENTITY");
        lab.ssh_known_hosts = need("LAB_SSH_KNOWN_HOSTS");
        lab.ssh_known_hosts_wrong = need("LAB_SSH_KNOWN_HOSTS_WRONG");
        lab.nginx_port = need("LAB_NGINX_PORT");
    }
    lab.values_ = std::move(values);
    return lab;
}

const Lab& Lab::get() {
    // If load() fails the test, the static stays uninitialized and the
    // next test tries again (and fails with the same message).
    static const Lab lab = load();
    return lab;
}

std::string Lab::value(const std::string& key) const {
    for (const auto& [k, v] : values_) {
        if (k == key) {
            return v;
        }
    }
    return {};
}

std::string Lab::root_pem() const {
    std::string pem = lab_command(*this, "root");
    if (pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
        FAIL("examples/lab/lab root " << dir << " printed no certificate: " << pem);
    }
    return pem;
}

std::vector<std::string> Lab::txt(const std::string& name) const {
    std::vector<std::string> values;
    std::istringstream lines(lab_command(*this, "zone-txt", {name}));
    std::string line;
    while (std::getline(lines, line)) {
        line = trim(line);
        if (line.empty()) {
            continue;
        }
        if (line.size() >= 2 && line.front() == '"' && line.back() == '"') {
            line = line.substr(1, line.size() - 2);
        }
        values.push_back(line);
    }
    return values;
}

void Lab::stop_dns() const {
    lab_command(*this, "stop-dns");
}

void Lab::start_dns() const {
    lab_command(*this, "start-dns");
}

void Lab::stop_pdns() const {
    lab_command(*this, "stop-pdns");
}

void Lab::start_pdns() const {
    lab_command(*this, "start-pdns");
}

std::vector<LabHost> Lab::hosts() const {
    return hosts_;
}

void Lab::stop_host(const std::string& name) const {
    lab_command(*this, "stop-host", {name});
}

void Lab::start_host(const std::string& name) const {
    lab_command(*this, "start-host", {name});
}

std::string served_serial(const std::string& address, int port, const std::string& server_name) {
    // Arguments as positional parameters: nothing is interpreted by the shell.
    CommandResult r = run("sh",
                          {"-c",
                           "timeout 10 openssl s_client -connect \"$1:$2\" -servername \"$3\" "
                           "</dev/null 2>/dev/null | openssl x509 -noout -serial",
                           "served_serial", address, std::to_string(port), server_name},
                          {});
    if (r.exit_code != 0) {
        return {};
    }
    return openssl_serial(r.out);
}

std::string served_serial(const std::string& address, const std::string& port,
                          const std::string& server_name) {
    return served_serial(address, std::stoi(port), server_name);
}

CommandResult run_certfleet(const std::vector<std::string>& args,
                            const std::vector<std::pair<std::string, std::string>>& env) {
    return run(CERTFLEET_BINARY, args, env);
}

CommandResult run_command(const std::vector<std::string>& argv,
                          const std::vector<std::pair<std::string, std::string>>& env) {
    if (argv.empty()) {
        throw std::invalid_argument("run_command: empty argv");
    }
    return run(argv.front(), std::vector<std::string>(argv.begin() + 1, argv.end()), env);
}

std::string make_temp_dir(const std::string& prefix) {
    const char* tmp = std::getenv("TMPDIR");
    std::string safe;
    for (char c : prefix) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        safe += ok ? c : '_';
    }
    std::string tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/certfleet-" +
                       safe + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
        throw std::runtime_error(errno_text("mkdtemp", tmpl));
    }
    return tmpl;
}

void write_file(const std::string& path, const std::string& content, mode_t mode) {
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) {
        std::filesystem::create_directories(parent);
    }
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        throw std::runtime_error(errno_text("cannot open", path));
    }
    if (::fchmod(fd, mode) != 0) {
        std::string msg = errno_text("cannot chmod", path);
        ::close(fd);
        throw std::runtime_error(msg);
    }
    size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            std::string msg = errno_text("cannot write", path);
            ::close(fd);
            throw std::runtime_error(msg);
        }
        done += static_cast<size_t>(n);
    }
    if (::close(fd) != 0) {
        throw std::runtime_error(errno_text("cannot close", path));
    }
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace certfleet::testing
