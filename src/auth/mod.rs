//! Who may call what (README, "Security"): API clients, their secrets, and
//! the authentication of a request's credentials with its throttling.
//! Knows neither XML nor the database: clients are read and kept through
//! [`ClientStore`].

mod authenticator;
mod clients;
mod secret;
mod throttle;

pub use authenticator::{Authenticator, Credentials, Refused};
pub use clients::{
    ApiClient, ClientError, ClientStore, DEMO_CLIENTS, DemoClient, add_client, ensure_demo_clients,
    revoke_client, rotate_client,
};
pub use secret::{SecretDigest, new_secret};
pub use throttle::ThrottleSettings;
