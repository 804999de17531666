// Test support: a Transport that passes calls through to another one and
// fails the ones it is told to, so tests can prove that a fault at any step
// of a deployment leaves the host serving a complete, matching pair. Lives in
// the module (not under tests/) so CLI and integration tests can wrap any
// transport with it. Not thread-safe: one deployment at a time, like a host.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "distribute/transport.hpp"

namespace certfleet::distribute {

class FaultyTransport : public Transport {
public:
    explicit FaultyTransport(Transport& inner) : m_inner(inner) {}

    // The `nth` call (1-based) of `operation` — a member name such as
    // "write_file" or "rename", or "*" for any call — fails with "injected
    // fault" and is not performed. Later calls pass.
    FaultyTransport& fail(std::string operation, int nth) {
        m_rules.push_back({std::move(operation), nth, false});
        return *this;
    }
    // From the `nth` call of `operation` on, that call and every later one of
    // any kind fail with "connection lost". If that call is write_file, half
    // of its content is written first, as a transfer cut mid-way leaves it.
    FaultyTransport& lose_connection(std::string operation, int nth) {
        m_rules.push_back({std::move(operation), nth, true});
        return *this;
    }
    // space() answers this instead of asking the inner transport.
    FaultyTransport& override_space(SpaceInfo space) {
        m_space = space;
        return *this;
    }
    // run() of exactly `command` answers `output` without running anything.
    FaultyTransport& override_command(std::string command, CommandOutput output) {
        m_commands[std::move(command)] = std::move(output);
        return *this;
    }

    // stat() answers carry this mtime: the host's clock as a fresh upload shows it.
    FaultyTransport& override_mtime(std::int64_t seconds) {
        m_mtime = seconds;
        return *this;
    }

    int calls(std::string_view operation) const {
        auto it = m_counts.find(std::string(operation));
        return it == m_counts.end() ? 0 : it->second;
    }
    bool connection_lost() const { return m_lost; }
    // Every call that reached the inner transport, in order: "rename a -> b".
    const std::vector<std::string>& journal() const { return m_journal; }

    std::string describe() const override { return m_inner.describe(); }
    core::Status connect() override {
        return pass("connect", "", [&] { return m_inner.connect(); });
    }
    void reset_connection() override { m_inner.reset_connection(); }
    std::optional<uid_t> user_id() override { return m_inner.user_id(); }
    core::Result<CommandOutput> run(const std::string& command, core::Seconds timeout) override {
        if (auto it = m_commands.find(command); it != m_commands.end()) {
            return pass("run", command, [&] { return core::Result<CommandOutput>(it->second); });
        }
        return pass("run", command, [&] { return m_inner.run(command, timeout); });
    }
    core::Status write_file(const std::string& path, std::string_view content,
                            mode_t mode) override {
        return write(path, content, mode, &Transport::write_file);
    }
    // Counted and journaled as a write_file: a fault at "write_file" hits
    // uploads whichever of the two they use.
    core::Status create_file(const std::string& path, std::string_view content,
                             mode_t mode) override {
        return write(path, content, mode, &Transport::create_file);
    }
    core::Result<std::string> read_file(const std::string& path, std::size_t max_bytes) override {
        return pass("read_file", path, [&] { return m_inner.read_file(path, max_bytes); });
    }
    core::Result<FileInfo> stat(const std::string& path) override {
        return pass("stat", path, [&] {
            auto info = m_inner.stat(path);
            if (info && info->exists && m_mtime) {
                info->mtime = *m_mtime;
            }
            return info;
        });
    }
    core::Result<std::string> read_link(const std::string& path) override {
        return pass("read_link", path, [&] { return m_inner.read_link(path); });
    }
    core::Result<std::vector<std::string>> list_dir(const std::string& path) override {
        return pass("list_dir", path, [&] { return m_inner.list_dir(path); });
    }
    core::Status make_dir(const std::string& path, mode_t mode) override {
        return pass("make_dir", path, [&] { return m_inner.make_dir(path, mode); });
    }
    core::Status rename(const std::string& from, const std::string& to) override {
        return pass("rename", from + " -> " + to, [&] { return m_inner.rename(from, to); });
    }
    core::Status symlink(const std::string& target, const std::string& link_path) override {
        return pass("symlink", link_path + " -> " + target,
                    [&] { return m_inner.symlink(target, link_path); });
    }
    core::Status remove(const std::string& path) override {
        return pass("remove", path, [&] { return m_inner.remove(path); });
    }
    core::Status remove_tree(const std::string& path) override {
        return pass("remove_tree", path, [&] { return m_inner.remove_tree(path); });
    }
    core::Status set_group(const std::string& path, const std::string& group) override {
        return pass("set_group", path, [&] { return m_inner.set_group(path, group); });
    }
    core::Status fsync_dir(const std::string& path) override {
        return pass("fsync_dir", path, [&] { return m_inner.fsync_dir(path); });
    }
    core::Result<SpaceInfo> space(const std::string& path) override {
        if (m_space) {
            return pass("space", path, [&] { return core::Result<SpaceInfo>(*m_space); });
        }
        return pass("space", path, [&] { return m_inner.space(path); });
    }

private:
    using WriteFn = core::Status (Transport::*)(const std::string&, std::string_view, mode_t);
    core::Status write(const std::string& path, std::string_view content, mode_t mode,
                       WriteFn how) {
        const Verdict v = judge("write_file");
        if (v == Verdict::Lose) {
            m_journal.push_back("write_file (torn) " + path);
            (void)(m_inner.*how)(path, content.substr(0, content.size() / 2), mode);
        }
        if (v != Verdict::Pass) {
            return failure(v, "write_file", path);
        }
        m_journal.push_back("write_file " + path);
        return (m_inner.*how)(path, content, mode);
    }

    // Lose: the call that drops the connection; Lost: every call after it.
    enum class Verdict { Pass, Fail, Lose, Lost };
    struct Rule {
        std::string operation;
        int nth;
        bool lose;
    };

    Verdict judge(const std::string& operation) {
        const int n = ++m_counts[operation];
        const int any = ++m_counts["*"];
        if (m_lost) {
            return Verdict::Lost;
        }
        for (const auto& rule : m_rules) {
            const bool hit = rule.operation == "*" ? rule.nth == any
                                                   : rule.operation == operation && rule.nth == n;
            if (hit) {
                m_lost = m_lost || rule.lose;
                return rule.lose ? Verdict::Lose : Verdict::Fail;
            }
        }
        return Verdict::Pass;
    }

    core::Failure failure(Verdict v, const std::string& operation, const std::string& what) const {
        return core::fail(core::ErrorKind::Network,
                          describe() + ": " + operation + " " + what + ": " +
                              (v == Verdict::Fail ? "injected fault" : "connection lost"));
    }

    template <class F>
    auto pass(const std::string& operation, const std::string& what, F&& call) -> decltype(call()) {
        const Verdict v = judge(operation);
        if (v != Verdict::Pass) {
            return failure(v, operation, what);
        }
        m_journal.push_back(operation + " " + what);
        return call();
    }

    Transport& m_inner;
    std::vector<Rule> m_rules;
    std::map<std::string, int> m_counts;
    std::optional<SpaceInfo> m_space;
    std::optional<std::int64_t> m_mtime;
    std::map<std::string, CommandOutput> m_commands;
    std::vector<std::string> m_journal;
    bool m_lost = false;
};

}  // namespace certfleet::distribute
