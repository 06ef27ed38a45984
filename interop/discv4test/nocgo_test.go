//go:build !cgo

package discv4test

// gethRecoversBadRecoveryID is whether go-ethereum's signature recovery
// accepts recovery IDs 4 to 7. Without cgo it adds 27 and hands the
// signature to decred's RecoverCompact, which reads 31 to 34 as recovery
// IDs 0 to 3 of a compressed key, so it accepts them (and recovers the key
// of ID-4).
const gethRecoversBadRecoveryID = true
