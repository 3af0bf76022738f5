pub mod google;
pub mod sigv4;
