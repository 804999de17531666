#include "distribute/transport.hpp"
