//! The public samples in ../shared/samples/real, read in place (never copied into the
//! repository). Each test says plainly when the folder is absent.
