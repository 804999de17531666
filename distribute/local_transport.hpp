// The manager itself as a deployment target (`"transport": "local"`): plain
// POSIX calls and /bin/sh, with the same semantics as the SSH transport so the
// deployment transaction cannot tell them apart.
#pragma once

#include <string>

#include "distribute/transport.hpp"

namespace certfleet::distribute {

class LocalTransport final : public Transport {
public:
    explicit LocalTransport(std::string host_name);

    std::string describe() const override;
    std::optional<uid_t> user_id() override;
    core::Status connect() override;

    core::Result<CommandOutput> run(const std::string& command, core::Seconds timeout) override;

    core::Status write_file(const std::string& path, std::string_view content,
                            mode_t mode) override;
    core::Status create_file(const std::string& path, std::string_view content,
                             mode_t mode) override;
    core::Result<std::string> read_file(const std::string& path, std::size_t max_bytes) override;
    core::Result<FileInfo> stat(const std::string& path) override;
    core::Result<std::string> read_link(const std::string& path) override;
    core::Result<std::vector<std::string>> list_dir(const std::string& path) override;
    core::Status make_dir(const std::string& path, mode_t mode) override;
    core::Status rename(const std::string& from, const std::string& to) override;
    core::Status symlink(const std::string& target, const std::string& link_path) override;
    core::Status remove(const std::string& path) override;
    core::Status remove_tree(const std::string& path) override;
    core::Status set_group(const std::string& path, const std::string& group) override;
    core::Status fsync_dir(const std::string& path) override;
    core::Result<SpaceInfo> space(const std::string& path) override;

private:
    core::Status write_with(const std::string& path, std::string_view content, mode_t mode,
                            int create_flag);
    std::string m_host_name;
};

}  // namespace certfleet::distribute
