// A long-lived child spoken to in lines: one request line on its stdin, one
// answer line on its stdout, each exchange with its own deadline. For tools
// whose start-up costs more than their work (a Python interpreter importing
// a library): started once, used for many requests.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/process.hpp"
#include "core/result.hpp"

namespace certfleet::core {

class LineCoprocess {
public:
    // options.argv, env and inherit_env are used; timeout and stdin_data are
    // not (each exchange has its own deadline). Fails only when the process
    // cannot be started (the message names argv[0] and the errno text).
    static Result<std::unique_ptr<LineCoprocess>> start(const ProcessOptions& options);

    // Closes its stdin (the child's cue to exit), waits up to kill_grace,
    // then kills its process group; always reaps it.
    ~LineCoprocess();
    LineCoprocess(const LineCoprocess&) = delete;
    LineCoprocess& operator=(const LineCoprocess&) = delete;

    // Sends `line` (a newline is added; it must not contain one) and returns
    // the next line the child prints, without its newline. A child that
    // exits, or does not answer within `timeout` (then it is killed), fails
    // (ErrorKind::Generic / Timeout) and is not alive() any more.
    Result<std::string> exchange(std::string_view line, std::chrono::milliseconds timeout);

    bool alive() const;
    // The last few KiB the child wrote to stderr (tracebacks, warnings).
    std::string stderr_tail() const;
    // "exit code 1", "killed by signal 9" once it is gone; "" while alive.
    std::string exit_text() const;

    struct State;  // pipes, pid, buffers (coprocess.cpp)
    explicit LineCoprocess(std::unique_ptr<State> state);

private:
    std::unique_ptr<State> m_state;
};

}  // namespace certfleet::core
