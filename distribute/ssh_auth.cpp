// Public-key authentication of an SshSession: the agent's identities, then
// identity_file, with every refusal collected for the error message.
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <pwd.h>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

#include "distribute/ssh_session.hpp"

namespace certfleet::distribute {
namespace {

using core::errno_text;
using core::ErrorKind;
using core::fail;

std::string expand_home(const std::string& path) {
    if (path.rfind("~/", 0) != 0) {
        return path;
    }
    std::string home;
    if (const char* env = std::getenv("HOME"); env != nullptr && *env != '\0') {
        home = env;
    } else {
        std::vector<char> buf(16384);
        passwd pw{};
        passwd* found = nullptr;
        if (::getpwuid_r(::getuid(), &pw, buf.data(), buf.size(), &found) == 0 && found) {
            home = found->pw_dir;
        }
    }
    return home + path.substr(1);
}

struct AgentDeleter {
    bool connected = false;
    void operator()(LIBSSH2_AGENT* agent) const {
        if (connected) {
            libssh2_agent_disconnect(agent);
        }
        libssh2_agent_free(agent);
    }
};

bool is_rsa_public_key(const std::string& pub_path) {
    std::ifstream in(pub_path);
    std::string type;
    in >> type;
    return type == "ssh-rsa";
}

// How one way of authenticating went: accepted, or the note saying why not.
struct Attempt {
    bool accepted = false;
    std::string note;
};

Attempt accepted() {
    return Attempt{true, {}};
}

Attempt refused(std::string note) {
    return Attempt{false, std::move(note)};
}

// Offers the agent's identities one after the other. `broken` is set when
// the connection broke meanwhile.
Attempt try_agent(SshSession& session, const std::string& user, const char* sock, bool& broken) {
    std::unique_ptr<LIBSSH2_AGENT, AgentDeleter> agent(libssh2_agent_init(session.get()));
    if (!agent || libssh2_agent_connect(agent.get()) != 0) {
        return refused(std::string("agent: cannot connect to ") + sock);
    }
    agent.get_deleter().connected = true;
    if (libssh2_agent_list_identities(agent.get()) != 0) {
        return refused("agent: cannot list identities: " + session.last_error());
    }
    int tried = 0;
    libssh2_agent_publickey* identity = nullptr;
    while (!broken && libssh2_agent_get_identity(agent.get(), &identity, identity) == 0) {
        ++tried;
        if (libssh2_agent_userauth(agent.get(), user.c_str(), identity) == 0) {
            return accepted();
        }
        broken = SshSession::is_connection_error(session.last_errno());
    }
    return refused(tried == 0 ? "agent: no identities" : "agent: no identity accepted");
}

// Why the server refused `key` (error code `rc`).
std::string key_refusal_note(const SshSession& session, const std::string& key,
                             const std::string& pub, bool has_pub, int rc) {
    std::string note = "key " + key + ": ";
    if (rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED || rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED) {
        note += "not accepted by the server";
        if (has_pub && is_rsa_public_key(pub)) {
            note +=
                " (libssh2 1.10 signs with ssh-rsa/SHA-1, which OpenSSH 8.8+ refuses: "
                "use an ed25519 or ecdsa key)";
        }
    } else {
        note += session.last_error();
    }
    return note;
}

// Offers ssh.identity_file (with its .pub beside it, when readable). `broken`
// is set when the connection broke meanwhile.
Attempt try_identity_file(SshSession& session, const std::string& user,
                          const std::string& identity_file, bool& broken) {
    const std::string key = expand_home(identity_file);
    const std::string pub = key + ".pub";
    const bool has_pub = ::access(pub.c_str(), R_OK) == 0;
    if (::access(key.c_str(), R_OK) != 0) {
        return refused("key " + key + ": " + errno_text(errno));
    }
    if (libssh2_userauth_publickey_fromfile_ex(
            session.get(), user.c_str(), static_cast<unsigned int>(user.size()),
            has_pub ? pub.c_str() : nullptr, key.c_str(), nullptr) == 0) {
        return accepted();
    }
    const int rc = session.last_errno();
    broken = SshSession::is_connection_error(rc);
    return refused(key_refusal_note(session, key, pub, has_pub, rc));
}

// Names everything that was tried, so the operator sees why each way failed.
core::Failure authentication_failure(const SshSession& session, const SshOptions& options,
                                     const std::vector<std::string>& notes, bool broken) {
    const std::string& user = options.user;
    std::string joined;
    for (const auto& note : notes) {
        joined += (joined.empty() ? "" : "; ") + note;
    }
    if (broken) {
        joined += "; the connection broke: " + session.last_error();
    }
    return fail(ErrorKind::Config,
                options.host_name + ": authentication as " + user + " failed (" + joined +
                    "); check ssh.user and ssh.identity_file",
                "the public key must be in ~" + user +
                    "/.ssh/authorized_keys on the host and sshd must let " + user +
                    " log in (PermitRootLogin prohibit-password for root); passphrase-protected "
                    "keys need ssh-agent");
}

}  // namespace

// Agent identities first (they also cover passphrase-protected keys), then
// identity_file. Every refusal is collected so the error says what was tried.
core::Status SshSession::authenticate() {
    const std::string& user = m_options.user;
    const char* methods =
        libssh2_userauth_list(m_session, user.c_str(), static_cast<unsigned int>(user.size()));
    if (methods == nullptr && libssh2_userauth_authenticated(m_session)) {
        return {};  // the server accepted "none"
    }
    bool broken = methods == nullptr && is_connection_error(last_errno());
    std::vector<std::string> notes;
    if (methods != nullptr && std::strstr(methods, "publickey") == nullptr) {
        notes.push_back(std::string("the server offers only ") + methods);
    }
    const char* sock = std::getenv("SSH_AUTH_SOCK");
    if (notes.empty() && !broken && m_options.use_agent && sock != nullptr && *sock != '\0') {
        Attempt agent = try_agent(*this, user, sock, broken);
        if (agent.accepted) {
            return {};
        }
        notes.push_back(std::move(agent.note));
    }
    // The key file too when the agent failed, but not when the server refuses keys.
    if (notes.empty() || notes.front().rfind("agent", 0) == 0) {
        if (m_options.identity_file.empty()) {
            notes.push_back("no ssh.identity_file configured");
        } else if (!broken) {
            Attempt key = try_identity_file(*this, user, m_options.identity_file, broken);
            if (key.accepted) {
                return {};
            }
            notes.push_back(std::move(key.note));
        }
    }
    if (broken) {
        m_broken = true;
    }
    return authentication_failure(*this, m_options, notes, broken);
}

}  // namespace certfleet::distribute
