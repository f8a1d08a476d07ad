#pragma once
// The patient as medvault understands it, independent of any wire format (api/ maps FHIR to it).
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/date.h"
#include "core/status.h"

namespace medvault::vault {

struct Identity {
  std::string family;
  std::vector<std::string> given;
  std::string gender;  // FHIR administrative gender: male, female, other, unknown
  std::optional<Date> birth_date;
  std::string birthplace;  // INSEE commune code (5 characters), or empty

  friend bool operator==(const Identity&, const Identity&) = default;
};

struct Address {
  std::vector<std::string> lines;
  std::string postal_code;
  std::string city;
  friend bool operator==(const Address&, const Address&) = default;
};

struct Telecom {
  std::string system;  // "phone" or "email"
  std::string value;
  friend bool operator==(const Telecom&, const Telecom&) = default;
};

struct Contact {
  std::vector<Address> addresses;
  std::vector<Telecom> telecom;
  friend bool operator==(const Contact&, const Contact&) = default;
};

struct Insurance {
  std::string nir;     // 15 characters: 13 of the number (2A/2B allowed) + 2 of the key, or empty
  std::string regime;  // two digits, or empty
  friend bool operator==(const Insurance&, const Insurance&) = default;
};

struct Patient {
  std::string id;
  Identity identity;
  Contact contact;
  Insurance insurance;
  UnixMicros created = 0;
  UnixMicros updated = 0;
  friend bool operator==(const Patient&, const Patient&) = default;
};

// Checks a patient for storage. Errors are InvalidArgument naming the FHIR path of the offending
// field (e.g. "identifier[0].value: invalid NIR control key") and never its value.
Status ValidatePatient(const Patient& p);

}  // namespace medvault::vault
