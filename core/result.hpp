// Result<T>: the return type for expected failures at module boundaries
// (network, DNS, CA problems, host faults). Exceptions are reserved for
// programming errors and fatal start-up problems (see ARCHITECTURE.md).
#pragma once

#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace certfleet::core {

// Broad categories a caller can branch on; the message carries the detail.
enum class ErrorKind {
    Generic,
    Io,           // local file system
    Network,      // connection refused, timeout, TLS
    Protocol,     // a peer answered something we cannot use
    Acme,         // a CA problem document (see acme::Problem for the type URN)
    RateLimited,  // the peer told us to come back later (retry_after is set)
    Dns,          // DNS update or lookup failed
    Timeout,      // a bounded wait ran out
    Config,       // the inventory or a referenced file is wrong
    Cancelled,    // SIGINT / SIGTERM
    Busy,         // another certfleet run holds the state lock (CLI exit 75)
};

struct Error {
    ErrorKind kind = ErrorKind::Generic;
    std::string message;                      // what happened, naming the thing concerned
    std::string hint;                         // what the operator can do next (may be empty)
    std::optional<long> retry_after_seconds;  // for RateLimited
    std::string acme_type;                    // full ACME problem URN, if any

    // "message (hint)" for one-line logs.
    std::string describe() const { return hint.empty() ? message : message + " — " + hint; }
};

inline Error make_error(ErrorKind kind, std::string message, std::string hint = {}) {
    return Error{kind, std::move(message), std::move(hint), std::nullopt, {}};
}

// Wrapper that lets `return fail(...)` convert into any Result<T>.
struct Failure {
    Error error;
};
inline Failure fail(Error e) {
    return Failure{std::move(e)};
}
inline Failure fail(ErrorKind kind, std::string message, std::string hint = {}) {
    return Failure{make_error(kind, std::move(message), std::move(hint))};
}

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
    Result(Failure f) : m_v(std::in_place_index<1>, std::move(f.error)) {}

    bool ok() const { return m_v.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(m_v); }
    const T& value() const& { return std::get<0>(m_v); }
    T&& value() && { return std::get<0>(std::move(m_v)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const { return std::get<1>(m_v); }
    // Propagate this failure into a Result of another type.
    Failure failure() const { return Failure{error()}; }

private:
    std::variant<T, Error> m_v;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Failure f) : m_error(std::move(f.error)) {}

    bool ok() const { return !m_error.has_value(); }
    explicit operator bool() const { return ok(); }
    const Error& error() const { return *m_error; }
    Failure failure() const { return Failure{*m_error}; }

private:
    std::optional<Error> m_error;
};

using Status = Result<void>;

// The text for an errno value. std::strerror shares one buffer between
// threads; this goes through strerror_r.
inline std::string errno_text(int err) {
    return std::generic_category().message(err);
}

}  // namespace certfleet::core
