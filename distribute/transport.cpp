#include "distribute/transport.hpp"

#include <algorithm>

namespace certfleet::distribute {

core::Failure too_many_entries(const std::string& host, const std::string& path) {
    return core::fail(core::ErrorKind::Io,
                      host + ": " + path + " has more than " + std::to_string(kMaxDirEntries) +
                          " entries; it was not listed",
                      "clean it up on the host (certfleet reads no directory that large)");
}

core::Status Transport::check_deadline(const std::string& host) const {
    if (!m_deadline || std::chrono::steady_clock::now() < m_deadline->at) {
        return {};
    }
    return core::fail(core::ErrorKind::Timeout,
                      host + ": out of time: " + m_deadline->why + " passed",
                      "the host answered too slowly or stopped answering; check it (load, "
                      "network, a hung file system), then deploy again");
}

std::chrono::milliseconds Transport::within_deadline(std::chrono::milliseconds limit) const {
    if (!m_deadline) {
        return limit;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        m_deadline->at - std::chrono::steady_clock::now());
    return std::max(std::chrono::milliseconds(1), std::min(limit, left));
}

core::Result<std::vector<std::pair<std::string, FileInfo>>> Transport::list_dir_info(
    const std::string& path) {
    auto names = list_dir(path);
    if (!names) {
        return names.failure();
    }
    std::vector<std::pair<std::string, FileInfo>> entries;
    entries.reserve(names->size());
    for (auto& name : *names) {
        auto info = stat(path + "/" + name);
        if (!info) {
            return info.failure();
        }
        entries.emplace_back(std::move(name), *info);
    }
    return entries;
}

core::Result<CommandOutput> Transport::rename_then_run(const std::vector<RenameStep>& steps,
                                                       const std::string& command,
                                                       core::Seconds timeout) {
    for (const auto& step : steps) {
        if (auto s = rename(step.from, step.to); !s) {
            return s.failure();
        }
    }
    if (command.empty()) {
        return CommandOutput{0, false, "", ""};
    }
    return run(command, timeout);
}

}  // namespace certfleet::distribute
