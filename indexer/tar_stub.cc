// Placeholder until the libarchive Source and Sink land: both refuse with NotSupported.
#include "indexer/tar_sink.h"
#include "indexer/tar_source.h"

namespace cairn::indexer {

Result<CheckinResult> TarSource::Checkin(cas::Ingestor*, const CheckinOptions&) {
  return Status::NotSupported("checkin " + path_ + ": tarballs are not supported yet");
}

Result<CheckoutResult> TarSink::Checkout(cas::ObjectStore*, const ObjectId&, const CheckoutOptions&) {
  return Status::NotSupported("checkout " + target_ + ": tarballs are not supported yet");
}

}  // namespace cairn::indexer
