#include "distribute/transport.hpp"

namespace certfleet::distribute {

core::Failure too_many_entries(const std::string& host, const std::string& path) {
    return core::fail(core::ErrorKind::Io,
                      host + ": " + path + " has more than " + std::to_string(kMaxDirEntries) +
                          " entries; it was not listed",
                      "clean it up on the host (certfleet reads no directory that large)");
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

}  // namespace certfleet::distribute
