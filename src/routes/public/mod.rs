//! Pages for everyone: the home page, a petition and what shares it, its image, the
//! privacy notice, static files and health.

pub mod assets;
pub mod card;
pub mod health;
pub mod home;
pub mod images;
pub mod pages;
pub mod petition;
pub mod share;
