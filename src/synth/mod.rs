//! `flou synth`: realistic synthetic SINP CSV for scale tests.
#![forbid(unsafe_code)]
