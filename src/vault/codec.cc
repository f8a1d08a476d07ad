#include "vault/codec.h"

namespace medvault::vault {
namespace {

enum Tag : uint8_t {
  kFamily = 1,
  kGiven = 2,
  kGender = 3,
  kBirthDate = 4,
  kBirthplace = 5,
  kAddressStart = 10,  // opens an address; the following address tags belong to it
  kAddressLine = 11,
  kPostalCode = 12,
  kCity = 13,
  kPhone = 14,
  kEmail = 15,
  kNir = 20,
  kRegime = 21,
};

void Put(Bytes* out, Tag tag, std::string_view value) {
  out->push_back(tag);
  PutLengthPrefixed(out, AsBytes(value));
}

// Calls visit(tag, value) for each record; fails on truncation.
template <typename F>
Status Walk(ByteView b, F visit) {
  ByteReader r(b);
  while (!r.empty()) {
    uint8_t tag = 0;
    ByteView value;
    if (!r.ReadU8(&tag) || !r.ReadLengthPrefixed(&value)) return IntegrityError("cannot open");
    MV_RETURN_IF_ERROR(visit(tag, std::string(AsChars(value))));
  }
  return Status::Ok();
}

}  // namespace

Bytes EncodeIdentity(const Identity& v) {
  Bytes out;
  out.reserve(64);
  Put(&out, kFamily, v.family);
  for (const auto& g : v.given) Put(&out, kGiven, g);
  if (!v.gender.empty()) Put(&out, kGender, v.gender);
  if (v.birth_date) Put(&out, kBirthDate, FormatDate(*v.birth_date));
  if (!v.birthplace.empty()) Put(&out, kBirthplace, v.birthplace);
  return out;
}

Bytes EncodeContact(const Contact& v) {
  Bytes out;
  out.reserve(96);
  for (const auto& a : v.addresses) {
    Put(&out, kAddressStart, "");
    for (const auto& l : a.lines) Put(&out, kAddressLine, l);
    if (!a.postal_code.empty()) Put(&out, kPostalCode, a.postal_code);
    if (!a.city.empty()) Put(&out, kCity, a.city);
  }
  for (const auto& t : v.telecom) Put(&out, t.system == "email" ? kEmail : kPhone, t.value);
  return out;
}

Bytes EncodeInsurance(const Insurance& v) {
  Bytes out;
  if (!v.nir.empty()) Put(&out, kNir, v.nir);
  if (!v.regime.empty()) Put(&out, kRegime, v.regime);
  return out;
}

Result<Identity> DecodeIdentity(ByteView b) {
  Identity v;
  MV_RETURN_IF_ERROR(Walk(b, [&](uint8_t tag, std::string value) -> Status {
    switch (tag) {
      case kFamily: v.family = std::move(value); break;
      case kGiven: v.given.push_back(std::move(value)); break;
      case kGender: v.gender = std::move(value); break;
      case kBirthDate: {
        Result<Date> d = ParseDate(value);
        if (!d.ok()) return IntegrityError("cannot open");
        v.birth_date = *d;
        break;
      }
      case kBirthplace: v.birthplace = std::move(value); break;
      default: break;
    }
    return Status::Ok();
  }));
  return v;
}

Result<Contact> DecodeContact(ByteView b) {
  Contact v;
  MV_RETURN_IF_ERROR(Walk(b, [&](uint8_t tag, std::string value) -> Status {
    if (tag == kAddressStart) {
      v.addresses.emplace_back();
      return Status::Ok();
    }
    if ((tag == kAddressLine || tag == kPostalCode || tag == kCity) && v.addresses.empty()) {
      return IntegrityError("cannot open");
    }
    switch (tag) {
      case kAddressLine: v.addresses.back().lines.push_back(std::move(value)); break;
      case kPostalCode: v.addresses.back().postal_code = std::move(value); break;
      case kCity: v.addresses.back().city = std::move(value); break;
      case kPhone: v.telecom.push_back({"phone", std::move(value)}); break;
      case kEmail: v.telecom.push_back({"email", std::move(value)}); break;
      default: break;
    }
    return Status::Ok();
  }));
  return v;
}

Result<Insurance> DecodeInsurance(ByteView b) {
  Insurance v;
  MV_RETURN_IF_ERROR(Walk(b, [&](uint8_t tag, std::string value) -> Status {
    if (tag == kNir) v.nir = std::move(value);
    if (tag == kRegime) v.regime = std::move(value);
    return Status::Ok();
  }));
  return v;
}

}  // namespace medvault::vault
