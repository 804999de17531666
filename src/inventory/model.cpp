#include "inventory/model.hpp"
