//! Uniqueness holds under concurrent creates: the database decides.

use futures_util::future::join_all;

use crate::helpers::{relation, spawn_app};

on_both_backends! {
    async fn concurrent_identical_creates_make_exactly_one_relation(backend: Backend) {
        let app = spawn_app(&backend).await;
        let request = relation(1000, "SHARE", "1001").title("DAILY");
        let responses = join_all((0..32).map(|_| app.create(&request))).await;

        let created: Vec<_> = responses.iter().filter(|r| !r.is_fault()).collect();
        assert_eq!(created.len(), 1, "exactly one create succeeds");
        let winner = created[0].relation();
        let losers: Vec<_> = responses.iter().filter(|r| r.is_fault()).collect();
        assert_eq!(losers.len(), 31);
        for loser in losers {
            loser.assert_fault("CustomerRelationAlreadyExistsFault");
            assert_eq!(
                loser.detail_field("ExistingId"),
                Some(winner.id.to_string())
            );
        }
        assert_eq!(app.get_relations(1000).await.relations(), [winner]);
    }

    async fn concurrent_different_creates_all_succeed_with_unique_ids(backend: Backend) {
        let app = spawn_app(&backend).await;
        let requests: Vec<_> = (0..32)
            .map(|i| relation(1000, "SSO", &format!("id-{i}")))
            .collect();
        let responses = join_all(requests.iter().map(|r| app.create(r))).await;
        let mut ids: Vec<i64> = responses.iter().map(|r| r.relation().id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 32);
        assert_eq!(app.get_relations(1000).await.relations().len(), 32);
    }
}
