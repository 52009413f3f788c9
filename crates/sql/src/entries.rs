//! The `cache_entries` table: the Delta snapshot ⊕ the journals, live entries only.
//!
//! Built per session as a view over three parts: the Delta table (a DataFusion table provider
//! that receives the pushed-down filters and projections), an anti-join that drops snapshot
//! rows the journals have deleted or replaced since, and the journaled rows themselves (a small
//! in-memory table). Parameter columns that only journaled rows have are added as NULL to the
//! snapshot side; the view keeps entries whose `expires_at` is unset or in the future, the same
//! TTL rule as `list_entries`.

use std::collections::HashSet;
use std::sync::Arc;

use cacheness_catalog::schema::{rows_to_batch, schema_for_rows};
use cacheness_catalog::{CatalogRow, Overlay};
use deltalake::DeltaTable;
use deltalake::arrow::array::{RecordBatch, StringArray};
use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use deltalake::datafusion::catalog::{ScanArgs, ScanResult, Session, TableProvider};
use deltalake::datafusion::common::{Column, JoinType, ScalarValue};
use deltalake::datafusion::error::Result as DfResult;
use deltalake::datafusion::functions::expr_fn::now;
use deltalake::datafusion::logical_expr::{TableProviderFilterPushDown, TableType};
use deltalake::datafusion::physical_plan::ExecutionPlan;
use deltalake::datafusion::prelude::{DataFrame, Expr, SessionContext, cast, col, lit};

use crate::error::{Result, SqlError};

/// The table's name in SQL.
pub const TABLE: &str = "cache_entries";

fn column(name: &str) -> Expr {
    col(Column::from_name(name))
}

/// A table provider whose pushed-down filters DataFusion applies again above the scan.
///
/// delta-rs' scan claims to apply exactly a filter that names no column, but uses it only to
/// skip files: a filter on a parameter column the snapshot lacks (projected as a typed NULL on
/// the snapshot side) reaches it as `NULL` and let every row through. The scan still gets every
/// filter for file skipping; the answer never depends on how it used them.
#[derive(Debug)]
pub struct InexactFilters(Arc<dyn TableProvider>);

impl InexactFilters {
    /// Wrap a provider.
    pub fn new(inner: Arc<dyn TableProvider>) -> Self {
        InexactFilters(inner)
    }
}

#[async_trait::async_trait]
impl TableProvider for InexactFilters {
    fn schema(&self) -> SchemaRef {
        self.0.schema()
    }

    fn table_type(&self) -> TableType {
        self.0.table_type()
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        self.0.scan(state, projection, filters, limit).await
    }

    async fn scan_with_args<'a>(
        &self,
        state: &dyn Session,
        args: ScanArgs<'a>,
    ) -> DfResult<ScanResult> {
        self.0.scan_with_args(state, args).await
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(self
            .0
            .supports_filters_pushdown(filters)?
            .into_iter()
            .map(|p| match p {
                TableProviderFilterPushDown::Exact => TableProviderFilterPushDown::Inexact,
                other => other,
            })
            .collect())
    }
}

/// The schema with string and binary views as plain strings and binaries: the Delta scan
/// reads Parquet strings as views, but the table keeps the catalog's declared types, so its
/// answers have the same types before and after a commit.
pub fn plain_types(schema: &Schema) -> Arc<Schema> {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let t = match f.data_type() {
                DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
                DataType::BinaryView | DataType::LargeBinary => DataType::Binary,
                t => t.clone(),
            };
            f.as_ref().clone().with_data_type(t)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// A NULL of each column's type, named as the column (the columns of an empty table).
pub fn typed_nulls(schema: &Schema) -> Vec<Expr> {
    schema
        .fields()
        .iter()
        .map(|f| typed_null(f.as_ref()))
        .collect()
}

fn typed_null(f: &Field) -> Expr {
    lit(ScalarValue::try_from(f.data_type()).unwrap_or(ScalarValue::Null)).alias(f.name())
}

/// `df` (whose schema is `from`) with exactly the columns of `to`, in its order and types:
/// columns `from` lacks are typed NULLs; the others are cast (the scan may produce other
/// encodings, such as string views).
pub fn conform(df: DataFrame, from: &Schema, to: &Schema) -> DfResult<DataFrame> {
    let exprs: Vec<Expr> = to
        .fields()
        .iter()
        .map(|f| match from.field_with_name(f.name()) {
            Ok(_) => cast(column(f.name()), f.data_type().clone()).alias(f.name()),
            Err(_) => typed_null(f.as_ref()),
        })
        .collect();
    df.select(exprs)
}

/// The TTL rule as a filter: entries with no expiry, or one after `at`.
pub fn live_at(at: Expr) -> Expr {
    column("expires_at")
        .is_null()
        .or(column("expires_at").gt(at))
}

/// Register `cache_entries` in `ctx` over `table` (the current snapshot) and `overlay` (the
/// journals' changes since); returns the table's schema.
pub async fn register(
    ctx: &SessionContext,
    table: &DeltaTable,
    overlay: &Overlay,
) -> Result<SchemaRef> {
    let err = |e: &dyn std::fmt::Display| SqlError::table(TABLE, e);
    table
        .update_datafusion_session(&ctx.state())
        .map_err(|e| err(&e))?;
    let provider: Arc<dyn TableProvider> = Arc::new(InexactFilters(
        table.table_provider().await.map_err(|e| err(&e))?,
    ));
    let snapshot_schema = provider.schema();
    let pending: Vec<&CatalogRow> = overlay.ops.values().flatten().collect();
    let schema = plain_types(&schema_for_rows(&snapshot_schema, &pending));

    let mut snapshot = ctx.read_table(provider).map_err(|e| err(&e))?;
    if overlay.cleared {
        snapshot = snapshot.limit(0, Some(0)).map_err(|e| err(&e))?;
    } else if !overlay.ops.is_empty() {
        // Drop the snapshot rows of keys the journals changed since.
        let keys: HashSet<&str> = overlay.ops.keys().map(String::as_str).collect();
        let key_schema = Arc::new(Schema::new(vec![Field::new(
            "_changed_key",
            DataType::Utf8,
            false,
        )]));
        let batch = RecordBatch::try_new(
            key_schema,
            vec![Arc::new(StringArray::from_iter_values(keys))],
        )
        .map_err(|e| err(&e))?;
        let changed = ctx.read_batch(batch).map_err(|e| err(&e))?;
        snapshot = snapshot
            .join(
                changed,
                JoinType::LeftAnti,
                &["cache_key"],
                &["_changed_key"],
                None,
            )
            .map_err(|e| err(&e))?;
    }
    let mut all = conform(snapshot, &snapshot_schema, &schema).map_err(|e| err(&e))?;
    if !pending.is_empty() {
        let batch = rows_to_batch(&schema, &pending, TABLE).map_err(|e| err(&e))?;
        let journaled = ctx.read_batch(batch).map_err(|e| err(&e))?;
        all = all.union(journaled).map_err(|e| err(&e))?;
    }
    let live = all.filter(live_at(now())).map_err(|e| err(&e))?;
    ctx.register_table(TABLE, live.into_view())
        .map_err(|e| err(&e))?;
    Ok(schema)
}
