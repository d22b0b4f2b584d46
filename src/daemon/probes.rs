//! What `/readyz` checks: the gateway, the model, Postgres and Redis, each answered by the
//! moderation service.

use crate::http::Probe;
use crate::moderation::Moderation;
use async_trait::async_trait;
use std::sync::Arc;

/// One readiness check.
struct ServiceProbe {
    service: Arc<Moderation>,
    kind: Kind,
}

#[derive(Clone, Copy)]
enum Kind {
    Gateway,
    Model,
    Postgres,
    Redis,
}

/// The four probes `/readyz` runs.
pub(super) fn all(service: &Arc<Moderation>) -> Vec<Arc<dyn Probe>> {
    [Kind::Gateway, Kind::Model, Kind::Postgres, Kind::Redis]
        .into_iter()
        .map(|kind| {
            Arc::new(ServiceProbe {
                service: service.clone(),
                kind,
            }) as Arc<dyn Probe>
        })
        .collect()
}

#[async_trait]
impl Probe for ServiceProbe {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Gateway => "gateway",
            Kind::Model => "model",
            Kind::Postgres => "postgres",
            Kind::Redis => "redis",
        }
    }

    async fn check(&self) -> Result<Option<String>, String> {
        match self.kind {
            Kind::Gateway => self.service.check_gateway().await.map(|_| None),
            Kind::Model => self.service.check_model().map(|_| None),
            Kind::Postgres => self.service.check_postgres().await,
            Kind::Redis => self.service.check_redis().await.map(|_| None),
        }
    }
}
